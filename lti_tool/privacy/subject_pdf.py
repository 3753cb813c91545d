"""The readable summary of a subject access export, drawn by the write-ups' PDF writer."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any, Optional

from ..dates import format_date, format_datetime
from ..writeups.export import ExportDocument, ExportSection, to_pdf
from .inventory import AREAS
from .subject_access import ACTED_FOR_OTHERS, SubjectData

ROLE_LABELS = {"participant": "Participant", "tutor": "Tutor", "course_admin": "Course administrator",
               "mentor": "Mentor"}


def _when(value: Optional[str]) -> str:
    if not value:
        return ""
    try:
        return format_datetime(datetime.fromisoformat(value))
    except ValueError:
        return str(value)


def _course(row: dict[str, Any]) -> str:
    return row.get("course_title") or ""


def _table(title: str, columns: list[str], rows: list[list[Any]], note: Optional[str] = None) -> ExportSection:
    if not rows:
        return ExportSection(title=title, kind="text", text="Nothing held.")
    return ExportSection(title=title, kind="table", columns=columns,
                         rows=[["" if c is None else str(c) for c in row] for row in rows], note=note)


def _identity(data: SubjectData) -> ExportSection:
    p = data.found.person
    return ExportSection(title="Who they are in the tool", kind="fields", fields=[
        ("Name", p.name or ""), ("Given name", p.given_name or ""), ("Family name", p.family_name or ""),
        ("Email", p.email or ""), ("VLE user ID", p.sub), ("VLE", data.found.platform),
        ("Language", p.locale or ""), ("Time zone", p.time_zone or ""),
        ("First seen", format_datetime(p.created_at)), ("Last opened the tool", _last_launch(data))])


def _last_launch(data: SubjectData) -> str:
    """Launches write last_launch_at to the hour; each launch session holds its exact time."""
    times = [data.found.person.last_launch_at] + [datetime.fromisoformat(s["created_at"])
                                                  for s in data.rows("launch_session") if s.get("created_at")]
    known = [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in times if t is not None]
    return format_datetime(max(known)) if known else ""


def _writeups(data: SubjectData) -> list[ExportSection]:
    versions = Counter(r["doc_id"] for r in data.rows("writeup_version"))
    submissions = Counter(r["doc_id"] for r in data.rows("writeup_submission"))
    docs = data.rows("writeup_doc")
    return [_table("Write-ups", ["Write-up (course)", "Status", "Versions saved", "Submissions", "Last saved"],
                   [[f"{d.get('template_title') or d['template_ref']} ({_course(d)})", d["status"], versions[d["id"]],
                     submissions[d["id"]], _when(d["updated_at"])] for d in docs],
                   "Every version and submission, with its full text, is in writeups.json.")]


def _activities(data: SubjectData) -> ExportSection:
    subs = Counter(r["work_id"] for r in data.rows("activity_submission"))
    return _table("Module activities", ["Course", "Activity", "Status", "Submissions", "Last saved"],
                  [[_course(w), w.get("activity_title") or w["activity_ref"], w["status"], subs[w["id"]],
                    _when(w["updated_at"])] for w in data.rows("activity_work")],
                  "Answers are in activities.json.")


def _case_study(data: SubjectData) -> ExportSection:
    return _table("Case-study assessment", ["Course", "Attempt", "Status", "Submitted", "Outcome"],
                  [[_course(a), a["attempt_no"], a["status"], _when(a["submitted_at"]), a["outcome"] or ""]
                   for a in data.rows("assessment_attempt")],
                  "Responses, markers' judgements and the history are in case_study.json.")


def _marks(data: SubjectData) -> ExportSection:
    rows = [[f"Write-up ({m['kind']} mark)", m.get("marker_id_name") or "", m["status"],
             " ".join(str(v) for v in (m["total"], m["outcome"]) if v is not None), m["overall_comment"] or ""]
            for m in data.rows("mark")]
    rows += [[f"Case study ({m['kind']} mark)", m.get("marker_id_name") or "", "", m["outcome"], m["justification"]]
             for m in data.rows("assessment_mark")]
    return _table("Marks and feedback", ["Work", "Marker", "Status", "Result", "Comment"], rows,
                  "All marks held, draft ones included; per-criterion comments are in marks_and_feedback.json.")


def _questions(data: SubjectData) -> ExportSection:
    return _table("Questions to tutors", ["Asked", "Question", "Answer", "Answered by"],
                  [[_when(q["asked_at"]), q["text"], q["answer"] or "", q.get("answered_by_name") or ""]
                   for q in data.rows("question")])


def _attendance(data: SubjectData) -> ExportSection:
    rows = [["Webinar", _when(a["recorded_at"]), a["source"]] for a in data.rows("attendance")]
    rows += [["Session " + a["session_id"], a["held_on"], "tutor"] for a in data.rows("assessment_attendance")]
    return _table("Attendance", ["What", "When", "Recorded by"], rows)


def _dfe(data: SubjectData) -> ExportSection:
    return _table("DfE reporting", ["Course", "DfE participant ID"],
                  [[_course(r), r["dfe_participant_id"] or ""] for r in data.rows("assessment_participant")])


def _launches(data: SubjectData) -> ExportSection:
    days = Counter((s["created_at"] or "")[:10] for s in data.rows("launch_session"))
    return _table("Launches from the VLE", ["Day", "Launches"],
                  [[format_date(datetime.fromisoformat(d)) if d else "", n] for d, n in sorted(days.items())],
                  "Launch sessions are kept only for a short time; older launches are no longer held.")


def _audit(data: SubjectData) -> ExportSection:
    return _table("Audit trail entries about them", ["When", "What", "By"],
                  [[_when(a["at"]), a["action"], a["actor"]] for a in data.rows("audit_event")])


def _contents(data: SubjectData) -> ExportSection:
    rows = [[f"{area}.json", description, sum(len(r) for r in data.areas.get(area, {}).values())]
            for area, description in AREAS.items()]
    rows.append(["as_tutor_or_marker.json", ACTED_FOR_OTHERS, sum(data.acted_for_others.values())])
    return _table("What the archive holds", ["File", "What it holds", "Records"], rows)


def summary_pdf(data: SubjectData) -> bytes:
    person = data.found.person
    courses = sorted({f"{c.course} ({ROLE_LABELS.get(c.role, c.role)})" for c in data.found.courses})
    doc = ExportDocument(
        title=f"Personal data held about {person.display_name}", programme="NPQ Learning · subject access",
        participant=person.display_name, school=None, course="; ".join(courses) or "No course",
        version_label="Everything held on the day it was generated",
        dates=[("Generated", format_datetime(data.generated_at))],
        sections=[_identity(data), *_writeups(data), _activities(data), _case_study(data), _marks(data),
                  _questions(data), _attendance(data), _dfe(data), _launches(data), _audit(data), _contents(data)])
    return to_pdf(doc)
