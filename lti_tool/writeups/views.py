"""The in-school project's write-ups: the editor, autosave, submission, history and exports."""
from __future__ import annotations

import logging

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)

from sqlalchemy import select

from .. import audit, dates, wording
from ..extensions import csrf
from ..auth import autosave_payload
from ..content.items import CatalogueItem, register_item_source
from ..content.model import Programme, WriteupTemplate
from ..db import db
from ..grades.delivery import kick
from ..grades.outbox import CANVAS_SUBMISSION, canvas_submission, enqueue_score
from ..models import COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR, Person, WriteupDoc, WriteupSubmission, WriteupVersion
from ..privacy import pupil_check
from ..permissions import Allow, course_object, current_context, launch_required, require_item, require_submitted, valid_id
from . import service
from .service import ContentError, Conflict, ReadOnly

log = logging.getLogger(__name__)
bp = Blueprint("writeups", __name__)


def _catalogue_items(programme: Programme) -> list[CatalogueItem]:
    return [CatalogueItem(ref=t.ref, programme=programme.code, group="In-school project", kind_label="Project write-up",
                          title=t.title, description=t.summary, develops=t.develops, marking="tutor",
                          score_maximum=programme.rubrics[t.rubric_id].score_maximum)
            for t in programme.templates.values()]


register_item_source(_catalogue_items)


def _template_or_404(code: str, template_id: str) -> tuple[Programme, WriteupTemplate]:
    programme, template = service.find_template(code, template_id)
    if template is None:
        abort(404)
    require_item(template.ref, code)
    return programme, template


def _released_marks(doc) -> list:
    """(submission, mark) for every attempt whose mark was released: what the participant sees."""
    from ..models import RELEASED  # noqa: PLC0415

    out = []
    for sub in (doc.submissions if doc else []):
        for mark in sub.marks:
            if mark.status == RELEASED:
                out.append((sub, mark))
    return out


def _linked_docs(programme: Programme, template: WriteupTemplate) -> list[tuple[WriteupTemplate, object]]:
    ctx = current_context()
    out = []
    for link in template.links:
        other = programme.templates.get(link)
        if other:
            out.append((other, service.get_doc(ctx.person_id, ctx.course_id, other)))
    return out


def _render(programme, template, doc, content, *, error=None, problems=None, status=200, pupil_flags=None):
    ctx = current_context()
    person = db().get(Person, ctx.person_id)
    last = doc.submissions[-1] if doc and doc.submissions else None
    released = _released_marks(doc)
    kept = service.versions(doc) if doc else []
    return render_template(
        "writeups/editor.html", ctx=ctx, programme=programme, template=template, doc=doc, content=content,
        editable=service.editable(doc), last=last, error=error, problems=problems or [],
        problem_at={p.field: p for p in problems or [] if getattr(p, "field", "")},
        word_count=service.word_count(template, content), word_limit=programme.word_limit(template),
        linked=_linked_docs(programme, template), service=service, person=person,
        develops=programme.statements_for(template.develops),
        released=released, rubric=programme.rubrics[template.rubric_id], pupil_flags=pupil_flags or [],
        draft_key=f"npq-writeup:{ctx.platform_id}:{ctx.course_id}:{ctx.person_id}:{template.ref}",
        school=service.school_of(ctx.person_id, ctx.course_id, doc), latest_kept=kept[0] if kept else None,
        latest_number=len(kept),
    ), status


@bp.get("/s/<sid>/writeups/<code>/<template_id>")
@launch_required(PARTICIPANT, TUTOR, COURSE_ADMIN)  # tutors see the template; mentors have their mentees page
def editor(code: str, template_id: str):
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    if ctx.role != PARTICIPANT:
        return render_template("writeups/template_overview.html", ctx=ctx, programme=programme, template=template,
                               rubric=programme.rubrics[template.rubric_id])
    doc = service.get_doc(ctx.person_id, ctx.course_id, template)
    content = doc.content if doc else service.blank_content(template)
    return _render(programme, template, doc, content)


@bp.post("/s/<sid>/writeups/<code>/<template_id>/draft")
@csrf.exempt
@launch_required(PARTICIPANT)
def autosave(code: str, template_id: str):
    payload = autosave_payload()
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    doc = service.get_doc(ctx.person_id, ctx.course_id, template, create=True)
    try:
        pairs = service.pairs_from_json(payload.get("pairs"))
        content = service.pairs_to_content(template, programme, pairs, doc.content)
        _set_school(doc, dict(pairs).get("m.school"))
        base = payload.get("version")
        service.save(doc, template, content, base if isinstance(base, int) else None)
    except ContentError as exc:
        db().rollback()
        return jsonify({"error": str(exc)}), 400
    except ReadOnly:
        db().rollback()
        return jsonify({"error": READ_ONLY}), 409
    except Conflict as exc:
        db().rollback()
        return jsonify({"error": "conflict", "version": exc.doc.version,
                        "saved_at": exc.doc.updated_at.isoformat()}), 409
    db().commit()
    return jsonify({"version": doc.version, "saved_at": doc.updated_at.isoformat(),
                    "words": service.word_count(template, content)})


@bp.post("/s/<sid>/writeups/<code>/<template_id>")
@launch_required(PARTICIPANT)
def save_or_submit(code: str, template_id: str):
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    doc = service.get_doc(ctx.person_id, ctx.course_id, template, create=True)
    action = request.form.get("action", "save")
    # "Submit anyway": the participant read the warning about names or dates of birth and submits.
    warned = action == pupil_check.SUBMIT_ANYWAY
    action = "submit" if warned else action
    pairs = [(k, v) for k, v in request.form.items(multi=True) if k[:2] in ("f.", "t.", "x.", "r.")]
    if service.editable(doc):
        _set_school(doc, request.form.get("m.school"))
    if not service.editable(doc):
        db().rollback()
        return _repeated_submit(programme, template, doc, pairs, action) or _render(
            programme, template, doc, doc.content, status=409, error=READ_ONLY)
    try:
        content = service.pairs_to_content(template, programme, pairs, doc.content)
        anchor = service.apply_row_action(template, content, action)
        service.save(doc, template, content, request.form.get("version", type=int),
                     reason="autosave" if anchor else "save")
    except ContentError as exc:
        db().rollback()
        return _render(programme, template, doc, _echo(template, programme, pairs, doc), error=str(exc), status=400)
    except (Conflict, ReadOnly) as exc:  # another tab saved or submitted first: this text is shown back, unsaved
        db().rollback()
        return _repeated_submit(programme, template, doc, pairs, action) or _render(
            programme, template, doc, _echo(template, programme, pairs, doc), status=409,
            error=READ_ONLY if isinstance(exc, ReadOnly) else
            "This write-up was changed in another tab or on another device since you opened it. "
            "What you see here has not been saved: copy what you need, then reload to see the other version.")
    if anchor:
        db().commit()
        return redirect(url_for("writeups.editor", code=code, template_id=template_id) + f"#sec-{anchor}", code=303)
    if action != "submit":
        db().commit()
        flash("Draft saved.")
        return redirect(url_for("writeups.editor", code=code, template_id=template_id), code=303)
    problems = service.problems_for_submission(template, programme, content)
    if problems:
        db().commit()  # the draft is kept; only the submission is refused
        return _render(programme, template, doc, content, problems=problems, status=400,
                       error="Not submitted yet. Your draft is saved; put these right, then submit again.")
    flags = [] if warned else pupil_check.check(content)
    if flags:
        db().commit()  # the draft is kept as written; the participant decides
        return _render(programme, template, doc, content, pupil_flags=flags)
    submission = service.submit(doc, template)
    _tell_gradebook(programme, template, submission)
    db().commit()
    kick(current_app._get_current_object())
    log.info("write-up submitted: %s attempt %s by person %s", template.ref, submission.attempt, ctx.person_id)
    flash(f"Submitted (attempt {submission.attempt}). Your tutor will mark it; it is read-only until then.")
    return redirect(url_for("writeups.editor", code=code, template_id=template_id), code=303)


READ_ONLY = "This write-up has been submitted and is read-only until your tutor returns it."


def _repeated_submit(programme: Programme, template: WriteupTemplate, doc: WriteupDoc, pairs: list, action: str):
    """A submit of exactly what stands submitted (a second click, or another tab sending the same
    page at the same moment) is shown that one submission, as a success: never a second attempt."""
    if action != "submit":
        return None
    submission = service.already_submitted(doc, _echo(template, programme, pairs, doc))
    if submission is None:
        return None
    flash(f"Already submitted (attempt {submission.attempt}). Your tutor will mark it; it is read-only until then.")
    return redirect(url_for("writeups.editor", code=programme.code, template_id=template.id), code=303)


def _set_school(doc, value) -> None:
    """The participant's school, shown on exports (LTI does not say which school someone is in)."""
    if value is not None:
        doc.school = " ".join(str(value).split())[:300] or None


def _echo(template, programme, pairs, doc):
    """What the participant sent, as far as it can be read, to show it back after a refusal."""
    try:
        return service.pairs_to_content(template, programme, pairs, doc.content)
    except ContentError:
        content = dict(doc.content)
        for name, value in pairs:  # show even over-long text back, unsaved
            parts = name.split(".")
            if parts[0] == "x" and len(parts) == 2:
                content[parts[1]] = value
        return content


def _tell_gradebook(programme: Programme, template: WriteupTemplate, submission: WriteupSubmission) -> None:
    """Submitted, pending manual marking: the tutor sees it needs marking. No score yet (Moodle
    keeps scoreGiven only with FullyGraded)."""
    ctx = current_context()
    extra = None
    submission_ext = canvas_submission(ctx, submission.submitted_at)
    if submission_ext is not None:
        # SpeedGrader opens the write-up itself, not the launch URL.
        submission_ext["submission_data"] = url_for(
            "writeups.editor", code=programme.code, template_id=template.id,
            _external=True).replace(f"/s/{ctx.session_id}", "")
        extra = {CANVAS_SUBMISSION: submission_ext}
    enqueue_score(ctx, resource_id=template.ref, label=template.title, score_given=None,
                  score_maximum=programme.rubrics[template.rubric_id].score_maximum,
                  activity_progress="Submitted", grading_progress="PendingManual",
                  source="writeup-submitted", source_id=submission.id, extra=extra)


def _version_or_404(doc: WriteupDoc | None, version: int) -> WriteupVersion:
    """The saved version of this document (404 if there is none, or no document)."""
    number = valid_id(version)  # a number too large for the database names no version
    row = None
    if doc is not None and number is not None:
        row = db().scalar(select(WriteupVersion).where(WriteupVersion.doc_id == doc.id,
                                                       WriteupVersion.version == number))
    if row is None:
        abort(404)
    return row


@bp.get("/s/<sid>/writeups/<code>/<template_id>/history")
@launch_required(PARTICIPANT)
def history(code: str, template_id: str):
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    doc = service.get_doc(ctx.person_id, ctx.course_id, template)
    versions = service.versions(doc) if doc else []
    return render_template("writeups/history.html", ctx=ctx, programme=programme, template=template, doc=doc,
                           versions=versions, numbers=service.version_numbers(versions))


def _shown_number(doc: WriteupDoc, version: int) -> int:
    return service.version_numbers(service.versions(doc)).get(version, version)


@bp.get("/s/<sid>/writeups/<code>/<template_id>/versions/<int:version>")
@launch_required(PARTICIPANT)
def view_version(code: str, template_id: str, version: int):
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    doc = service.get_doc(ctx.person_id, ctx.course_id, template)
    row = _version_or_404(doc, version)
    return render_template("writeups/readonly.html", ctx=ctx, programme=programme, template=template, doc=doc,
                           content=row.content, label=f"Version {_shown_number(doc, row.version)}", when=row.saved_at,
                           words=row.word_count, service=service)


__all__ = ["bp", "Response"]


def _statement_captions(programme: Programme, refs: list) -> str:
    """Chosen statements as a reader knows them (reference and wording), never internal IDs."""
    return "; ".join(programme.unit_caption(str(r)) for r in refs if programme.statement_of(str(r)))


def _export_cell(programme: Programme, field, value) -> str:
    """A field's value as the reader reads it: statements by reference, dates in words."""
    if field.type == "statements":
        return _statement_captions(programme, value if isinstance(value, list) else [])
    if field.type == "date" and value and service.parse_date(str(value)):
        return dates.format_date(service.parse_date(str(value)))
    return "" if value is None or isinstance(value, list) else str(value)


def export_document(programme: Programme, template: WriteupTemplate, doc, content: dict, label: str,
                    moments: list[tuple[str, str]]):
    """The plain structure the PDF and Word exporters lay out."""
    from .export import ExportDocument, ExportSection  # noqa: PLC0415 (heavy: loaded on export only)

    sections = []
    for s in template.sections:
        value = content.get(s.id)
        guidance = s.guidance
        if s.type == "fields":
            pairs = []
            for f in s.fields:
                pairs.append((f.label, _export_cell(programme, f, (value or {}).get(f.id))))
            sections.append(ExportSection(title=s.title, kind="fields", guidance=guidance, fields=pairs))
        elif s.type == "table":
            columns = [f.label for f in s.fields] + (["Rating"] if s.computed == "rating" else [])
            rows = []
            for row in value or []:
                cells = [_export_cell(programme, f, row.get(f.id)) for f in s.fields]
                if s.computed == "rating":
                    cells.append(str(service.rating(row) or ""))
                rows.append(cells)
            note = None
            if s.computed == "rating":
                top = service.highest_risks(content, s)
                note = ("Highest risks: " + "; ".join(f"{wording.shorten(r.get('description'), 60)} (rating {n})" for n, r in top)) if top else None
            sections.append(ExportSection(title=s.title, kind="table", guidance=guidance, columns=columns, rows=rows,
                                          note=note))
        elif s.type == "text":
            sections.append(ExportSection(title=s.title, kind="text", guidance=guidance, text=value or "",
                                          word_count=service.words(value or "")))
        else:
            refs = [f"{r.get('author', '')}{' (' + r['year'] + ')' if r.get('year') else ''}. {r.get('title', '')}"
                    f"{'. ' + r['source'] if r.get('source') else ''}" for r in value or []]
            sections.append(ExportSection(title=s.title, kind="references", references=refs))
    if template.counts_words:
        sections.append(ExportSection(title="Word count", kind="fields", fields=[
            ("Words", f"{service.word_count(template, content):,} of {programme.word_limit(template):,}")]))
    return ExportDocument(title=template.title, programme=programme.title, participant=doc.person.display_name,
                          school=service.school_of(doc.person_id, doc.course_id, doc) or None, course=doc.course.display_title, version_label=label, dates=moments,
                          sections=sections)


def _doc_to_export(template: WriteupTemplate) -> WriteupDoc:
    """A participant's own document (whatever ?doc= says); for anyone else the document ?doc=
    names, if it is of this course and template and someone their role reaches."""
    ctx = current_context()
    if ctx.role == PARTICIPANT:
        doc = service.get_doc(ctx.person_id, ctx.course_id, template)
    else:
        doc = course_object(WriteupDoc, request.args.get("doc"))
    if doc is None or doc.template_ref != template.ref:
        abort(404)
    return doc


@bp.get("/s/<sid>/writeups/<code>/<template_id>/export/<int:version>.<fmt>")
@launch_required(PARTICIPANT, Allow(TUTOR, submitted_only=True), Allow(COURSE_ADMIN, submitted_only=True),
                 Allow(MENTOR, submitted_only=True, setting="MENTORS_SEE_SUBMITTED_WORK"))
def export(code: str, template_id: str, version: int, fmt: str):
    """Any saved version as PDF or Word, for its owner. Tutors and course admins export the
    submitted versions of their course's write-ups; mentors their mentees' submitted versions, and
    only while the provider allows it. Drafts are their owner's alone."""
    from .export import to_docx, to_pdf  # noqa: PLC0415

    if fmt not in ("pdf", "docx"):
        abort(404)
    programme, template = _template_or_404(code, template_id)
    doc = _doc_to_export(template)
    row = _version_or_404(doc, version)
    submission = next((s for s in doc.submissions if s.version == version), None)
    require_submitted(submission is not None)
    shown = _shown_number(doc, version)
    label = f"Submitted, attempt {submission.attempt} (version {shown})" if submission else f"Draft, version {shown}"
    moments = [("Saved", dates.format_deadline(row.saved_at))]
    if submission:
        moments.insert(0, ("Submitted", dates.format_deadline(submission.submitted_at)))
    from ..db import utcnow  # noqa: PLC0415
    moments.append(("Exported", dates.format_deadline(utcnow())))
    document = export_document(programme, template, doc, row.content, label, moments)
    data = to_pdf(document) if fmt == "pdf" else to_docx(document)
    audit.record(f"writeup.export_{fmt}", target=doc, subject=doc.person_id, detail={
        "template": template.ref, "version": version, "submitted": submission is not None})
    db().commit()
    name = f"{template.id}-{doc.person.display_name}-v{version}".replace(" ", "-")
    name = "".join(ch for ch in name if ch.isalnum() or ch in "-_")[:80]
    mimetype = "application/pdf" if fmt == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"', "Cache-Control": "private, no-store"})
