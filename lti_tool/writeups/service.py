"""Write-up documents: structured content checked against its template, versions, conflicts,
immutable submissions and returns for resubmission."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Optional

from sqlalchemy import func, select

from ..content import catalogue
from ..content.model import Programme, WriteupTemplate, WSection
from ..db import db, utcnow
from ..models import DRAFT, RETURNED, SUBMITTED, WriteupDoc, WriteupSubmission, WriteupVersion
from ..versioned import get_or_create, save_over, update_if
from ..wording import Problem

TEXT_LIMIT = 60000
REFERENCE_FIELDS = ("author", "year", "title", "source")
REFERENCE_LIMIT = 500
MAX_REFERENCES = 150
SNAPSHOT_EVERY = timedelta(minutes=5)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ContentError(ValueError):
    """What was sent cannot be stored as it is; the message names the field and the limit."""


class Conflict(Exception):
    def __init__(self, doc: WriteupDoc):
        super().__init__("changed elsewhere")
        self.doc = doc


class ReadOnly(Exception):
    pass


def find_template(code: str, template_id: str) -> tuple[Optional[Programme], Optional[WriteupTemplate]]:
    programme = catalogue().get(code)
    return programme, (programme.templates.get(template_id) if programme else None)


def _row_id() -> str:
    return secrets.token_hex(4)


def blank_row(section: WSection) -> dict[str, Any]:
    return {"_id": _row_id(), **{f.id: ([] if f.type == "statements" else "") for f in section.fields}}


def blank_content(template: WriteupTemplate) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in template.sections:
        if s.type == "fields":
            out[s.id] = {f.id: ([] if f.type == "statements" else "") for f in s.fields}
        elif s.type == "table":
            out[s.id] = [blank_row(s) for _ in range(max(1, s.min_rows))]
        elif s.type == "text":
            out[s.id] = ""
        else:
            out[s.id] = []
    return out


def _text(value: Any, limit: int, label: str) -> str:
    text = _CONTROL.sub("", value if isinstance(value, str) else ("" if value is None else str(value)))
    text = text.replace("\r\n", "\n")
    if len(text) > limit:
        raise ContentError(f"“{label}” is {len(text):,} characters long; the limit is {limit:,}. "
                           "Shorten it: your text is still on the page and on this device.")
    return text


def _value(field, raw: Any, programme: Programme, label: str) -> Any:
    if field.type == "statements":
        items = raw if isinstance(raw, list) else ([raw] if raw else [])
        return [s for s in dict.fromkeys(str(i) for i in items) if s in programme.statements][:40]
    limit = field.limit if field.type in ("line", "paragraph") else 100
    text = _text(raw, limit, label)
    return text.replace("\n", " ") if field.type == "line" else text


def pairs_to_content(template: WriteupTemplate, programme: Programme, pairs: Iterable[tuple[str, str]],
                     previous: dict[str, Any]) -> dict[str, Any]:
    """Read the editor's named inputs (the form post and the autosave send the same pairs).

    Names: f.<section>.<field>, t.<section>.<row>.<field> (row = the row's id, rows in the order
    sent), x.<section> for text, r.<section>.<i>.<author|year|title|source>."""
    content = blank_content(template)
    rows: dict[str, dict[str, dict]] = {}
    refs: dict[str, dict[int, dict]] = {}
    multi: dict[tuple, list] = {}
    for name, value in pairs:
        parts = name.split(".")
        kind, sec_id = parts[0], parts[1] if len(parts) > 1 else ""
        section = template.section(sec_id)
        if section is None:
            continue
        if kind == "f" and section.type == "fields" and len(parts) == 3:
            f = section.field(parts[2])
            if f is None:
                continue
            if f.type == "statements":
                multi.setdefault(("f", sec_id, f.id), []).append(value)
            else:
                content[sec_id][f.id] = _value(f, value, programme, f.label)
        elif kind == "t" and section.type == "table" and len(parts) == 4:
            row = rows.setdefault(sec_id, {}).setdefault(parts[2][:16], {"_id": parts[2][:16]})
            f = section.field(parts[3])
            if f is None:
                continue
            if f.type == "statements":
                multi.setdefault(("t", sec_id, parts[2][:16], f.id), []).append(value)
            else:
                row[f.id] = _value(f, value, programme, f"{section.title}: {f.label}")
        elif kind == "x" and section.type == "text":
            content[sec_id] = _text(value, TEXT_LIMIT, section.title)
        elif kind == "r" and section.type == "references" and len(parts) == 4 and parts[3] in REFERENCE_FIELDS:
            if parts[2].isdigit():
                refs.setdefault(sec_id, {}).setdefault(int(parts[2]), {})[parts[3]] = _text(
                    value, REFERENCE_LIMIT, f"{section.title}: {parts[3]}").replace("\n", " ")
    for key, values in multi.items():
        if key[0] == "f":
            content[key[1]][key[2]] = _value(template.section(key[1]).field(key[2]), values, programme, "")
        else:
            rows[key[1]][key[2]][key[3]] = _value(template.section(key[1]).field(key[3]), values, programme, "")
    for sec_id, by_id in rows.items():
        section = template.section(sec_id)
        if len(by_id) > section.max_rows:
            raise ContentError(f"“{section.title}” has {len(by_id)} rows; the most it can hold is {section.max_rows}.")
        content[sec_id] = [{**blank_row(section), **row} for row in by_id.values()]
    for sec_id, by_index in refs.items():
        entries = [by_index[i] for i in sorted(by_index) if any(v.strip() for v in by_index[i].values())]
        if len(entries) > MAX_REFERENCES:
            raise ContentError(f"At most {MAX_REFERENCES} references.")
        content[sec_id] = [{k: e.get(k, "") for k in REFERENCE_FIELDS} for e in entries]
    # Sections the editor did not send (none, normally) keep their previous value.
    for s in template.sections:
        sent = any(n.split(".")[1:2] == [s.id] for n, _ in pairs) if isinstance(pairs, list) else True
        if not sent and s.id in previous:
            content[s.id] = previous[s.id]
    return content


def pairs_from_json(data: Any) -> list[tuple[str, str]]:
    """The autosave's body: the editor's [name, value] pairs, as a form would send them."""
    if not isinstance(data, list) or len(data) > 20000 or not all(isinstance(p, list) and len(p) == 2 for p in data):
        raise ContentError("The draft could not be read.")
    return [(str(k)[:200], "" if v is None else str(v)) for k, v in data]


def apply_row_action(template: WriteupTemplate, content: dict, action: str) -> Optional[str]:
    """Add, remove or move a table row or a reference (the editor's buttons). Returns the section
    to scroll back to, or None if the action is not one of these."""
    parts = action.split(":")
    if len(parts) < 3 or parts[0] not in ("row", "ref"):
        return None
    verb, sec_id = parts[1], parts[2]
    section = template.section(sec_id)
    if section is None:
        return None
    items = content.get(sec_id, [])
    index = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
    if verb == "add":
        if len(items) >= (section.max_rows if section.type == "table" else MAX_REFERENCES):
            raise ContentError(f"“{section.title}” is full.")
        items.append(blank_row(section) if section.type == "table" else {k: "" for k in REFERENCE_FIELDS})
    elif index is not None and index < len(items):
        if verb == "remove":
            items.pop(index)
            if section.type == "table" and not items:
                items.append(blank_row(section))
        elif verb == "up" and index > 0:
            items[index - 1], items[index] = items[index], items[index - 1]
        elif verb == "down" and index < len(items) - 1:
            items[index + 1], items[index] = items[index], items[index + 1]
    content[sec_id] = items
    return sec_id


def words(text: str) -> int:
    return len(re.findall(r"\S+", text or ""))


_WORDY_FIELDS = ("line", "paragraph")


def word_count(template: WriteupTemplate, content: dict[str, Any]) -> int:
    """The words a person wrote: every text section, and every line and paragraph field, table
    cells included (not references, dates, scores, choices or statements)."""
    total = 0
    for s in template.sections:
        value = content.get(s.id)
        if s.type == "text":
            total += words(value if isinstance(value, str) else "")
        elif s.type in ("fields", "table"):
            rows = [value] if isinstance(value, dict) else (value if isinstance(value, list) else [])
            total += sum(words(str(row.get(f.id) or "")) for row in rows if isinstance(row, dict)
                         for f in s.fields if f.type in _WORDY_FIELDS)
    return total


def version_numbers(rows: list[WriteupVersion]) -> dict[int, int]:
    """The kept versions numbered 1, 2, 3... as the person sees them (the stored number counts
    every autosave, so it jumps)."""
    return {v: n for n, v in enumerate(sorted(r.version for r in rows), 1)}


def parse_date(value: str) -> Optional[date]:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def rating(row: dict) -> Optional[int]:
    try:
        likelihood, impact = int(row.get("likelihood") or 0), int(row.get("impact") or 0)
    except (TypeError, ValueError):
        return None
    if 1 <= likelihood <= 5 and 1 <= impact <= 5:
        return likelihood * impact
    return None


def highest_risks(content: dict, section: WSection, n: int = 3) -> list[tuple[int, dict]]:
    rated = [(rating(r), r) for r in content.get(section.id, []) if rating(r)]
    return sorted(rated, key=lambda x: -x[0])[:n]


@dataclass
class Bar:
    label: str
    start: date
    end: date
    left: float
    width: float
    status: str


def timeline(content: dict, section: WSection) -> tuple[list[Bar], Optional[date], Optional[date]]:
    dated = []
    for row in content.get(section.id, []):
        start, end = parse_date(row.get("start", "")), parse_date(row.get("end", ""))
        if start and end and end >= start:
            dated.append((row, start, end))
    if not dated:
        return [], None, None
    first, last = min(d[1] for d in dated), max(d[2] for d in dated)
    span = max(1, (last - first).days + 1)
    bars = [Bar((row.get("action") or "Action")[:80], s, e, 100 * (s - first).days / span,
                max(1.5, 100 * ((e - s).days + 1) / span), row.get("status") or "") for row, s, e in dated]
    return bars, first, last


def _field_problems(s: WSection, f, value: Any, where: str, field_id: str) -> list[Problem]:
    if f.required and not value:
        return [Problem(f"{where}: “{f.label}” is required.", field_id)]
    if f.type == "date" and value and not parse_date(value):
        return [Problem(f"{where}: “{f.label}” is not a date ({value!r}); use the date picker or YYYY-MM-DD.", field_id)]
    if f.type == "score" and value and value not in {"1", "2", "3", "4", "5"}:
        return [Problem(f"{where}: “{f.label}” must be 1 to 5.", field_id)]
    if f.type == "choice" and value and value not in f.choices:
        return [Problem(f"{where}: “{f.label}” must be one of {', '.join(f.choices)}.", field_id)]
    return []


def problems_for_submission(template: WriteupTemplate, programme: Programme, content: dict) -> list[Problem]:
    out: list[Problem] = []
    for s in template.sections:
        if s.type == "fields":
            for f in s.fields:
                out += _field_problems(s, f, content.get(s.id, {}).get(f.id), s.title, f"f-{s.id}-{f.id}")
        elif s.type == "table":
            rows = content.get(s.id, [])
            filled = [r for r in rows if any(v for k, v in r.items() if k != "_id")]
            if len(filled) < max(1, s.min_rows):
                out.append(Problem(f"{s.title}: add at least {max(1, s.min_rows)} row{'s' if s.min_rows > 1 else ''}.",
                                   f"sec-{s.id}"))
            for i, row in enumerate(filled, 1):
                for f in s.fields:
                    out += _field_problems(s, f, row.get(f.id), f"{s.title}, row {i}", f"t-{s.id}-{row.get('_id')}-{f.id}")
                if s.computed == "timeline":
                    start, end = parse_date(row.get("start", "")), parse_date(row.get("end", ""))
                    if start and end and end < start:
                        out.append(Problem(f"{s.title}, row {i}: the end date is before the start date.",
                                           f"t-{s.id}-{row.get('_id')}-end"))
        elif s.type == "text" and not (content.get(s.id) or "").strip():
            out.append(Problem(f"“{s.title}” is empty.", f"x-{s.id}"))
    if template.counts_words:
        limit, count = programme.word_limit(template), word_count(template, content)
        if count > limit:
            out.append(Problem(f"The write-up has {count:,} words; the limit is {limit:,}. "
                               f"Cut {count - limit:,} words to submit.", "word-total"))
    return out


def get_doc(person_id: int, course_id: int, template: WriteupTemplate, *, create: bool = False) -> Optional[WriteupDoc]:
    key = {"person_id": person_id, "course_id": course_id, "template_ref": template.ref}
    if create:  # two tabs' first saves at once make one document
        return get_or_create(WriteupDoc, key, {"content": blank_content(template), "version": 0, "status": DRAFT,
                                               "queue_status": DRAFT})
    return db().scalar(select(WriteupDoc).filter_by(**key))


def school_of(person_id: int, course_id: int, doc: Optional[WriteupDoc] = None) -> str:
    """The school this person gave: this write-up's, else the one most recently typed in another of
    their write-ups in the course (one school for the whole project, still editable in each)."""
    if doc is not None and doc.school:
        return doc.school
    return db().scalar(select(WriteupDoc.school).where(
        WriteupDoc.person_id == person_id, WriteupDoc.course_id == course_id, WriteupDoc.school.is_not(None),
        WriteupDoc.school != "").order_by(WriteupDoc.updated_at.desc()).limit(1)) or ""


EDITABLE = (DRAFT, RETURNED)


def editable(doc: Optional[WriteupDoc]) -> bool:
    return doc is None or doc.status in EDITABLE


def _snapshot(doc: WriteupDoc, template: WriteupTemplate, reason: str) -> None:
    last = db().scalar(select(WriteupVersion).where(WriteupVersion.doc_id == doc.id)
                       .order_by(WriteupVersion.version.desc()).limit(1))
    if last is not None and last.version == doc.version:
        if reason != "autosave":
            last.reason = reason  # this very version, now saved on purpose or submitted
        return
    if reason == "autosave" and last is not None and utcnow() - last.saved_at < SNAPSHOT_EVERY:
        return
    db().add(WriteupVersion(doc_id=doc.id, version=doc.version, content=doc.content,
                            word_count=word_count(template, doc.content), reason=reason))


def save(doc: WriteupDoc, template: WriteupTemplate, content: dict, base_version: Optional[int],
         reason: str = "autosave") -> WriteupDoc:
    """Save over the version the page was based on, while the write-up is editable: one conditional
    UPDATE, so of two tabs saving the same version at once one is saved and the other refused
    (Conflict, or ReadOnly if it was submitted meanwhile). The version row, if one is due, is
    written after it in the same transaction with the new number."""
    if not editable(doc):
        raise ReadOnly()
    if not save_over(doc, base_version, {"content": content, "updated_at": utcnow()},
                     WriteupDoc.status.in_(EDITABLE)):
        raise ReadOnly() if not editable(doc) else Conflict(doc)
    _snapshot(doc, template, reason)
    return doc


def submit(doc: WriteupDoc, template: WriteupTemplate) -> WriteupSubmission:
    """Submit the version just saved by this request's save() (whose UPDATE holds the row until
    commit): editable -> submitted as a conditional UPDATE, then the next attempt number."""
    now = utcnow()
    if not update_if(doc, [WriteupDoc.version == doc.version, WriteupDoc.status.in_(EDITABLE)],
                     {"status": SUBMITTED, "queue_status": SUBMITTED, "submitted_at": now}):
        raise ReadOnly() if not editable(doc) else Conflict(doc)
    attempt = 1 + (db().scalar(select(func.max(WriteupSubmission.attempt))
                               .where(WriteupSubmission.doc_id == doc.id)) or 0)
    _snapshot(doc, template, "submitted")
    submission = WriteupSubmission(doc_id=doc.id, attempt=attempt, version=doc.version, content=dict(doc.content),
                                   word_count=word_count(template, doc.content), submitted_at=now)
    db().add(submission)
    db().flush()
    return submission


def already_submitted(doc: Optional[WriteupDoc], content: dict) -> Optional[WriteupSubmission]:
    """The submission holding exactly this content, if the write-up stands submitted: submitting
    it again (a second click, or another tab sending the same page at the same moment) only
    repeats that submission."""
    if doc is None or doc.status != SUBMITTED:
        return None
    last = db().scalar(select(WriteupSubmission).where(WriteupSubmission.doc_id == doc.id)
                       .order_by(WriteupSubmission.attempt.desc()).limit(1))
    return last if last is not None and last.content == content else None


def return_for_resubmission(submission: WriteupSubmission, feedback: str) -> None:
    submission.status, submission.returned_at = RETURNED, utcnow()
    submission.return_feedback = feedback
    submission.doc.status = submission.doc.queue_status = RETURNED


def versions(doc: WriteupDoc) -> list[WriteupVersion]:
    return list(db().scalars(select(WriteupVersion).where(WriteupVersion.doc_id == doc.id)
                             .order_by(WriteupVersion.version.desc())))
