"""Tutor marking inside the VLE: the queue, the marking view, moderation, release and return."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..content.model import WriteupTemplate
from ..db import db
from ..grades.delivery import kick, retry_now
from ..grades.status import DELIVERED, FAILED, PENDING, SETTLED, SUPERSEDED
from ..models import AGREED, COURSE_ADMIN, FIRST, RELEASED, TUTOR, GradeOutbox, WriteupDoc
from ..paging import page_count
from ..permissions import course_object, current_context, launch_required, valid_ids
from ..writeups import service as writeups
from ..writeups.views import _template_or_404
from . import service
from .service import MarkingError

log = logging.getLogger(__name__)
bp = Blueprint("marking", __name__)
TUTORS = (TUTOR, COURSE_ADMIN)


@bp.get("/s/<sid>/marking/<code>/<template_id>")
@launch_required(*TUTORS)
def queue(code: str, template_id: str):
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    warning = service.sync_roster(ctx, force=request.args.get("refresh") == "1")
    status = request.args.get("status", "")
    sort = request.args.get("sort", "name")
    rows, total, counts, page = service.queue(ctx.course_id, template, status=status, sort=sort,
                                              page=request.args.get("page"))
    pages = page_count(total, service.PAGE_SIZE)
    return render_template("marking/queue.html", ctx=ctx, programme=programme, template=template, rows=rows,
                           total=total, counts=counts, status=status, sort=sort, page=page, pages=pages,
                           statuses=service.QUEUE_STATUSES, warning=warning,
                           rubric=programme.rubrics[template.rubric_id])


def _doc_or_404(doc_id: int, template: WriteupTemplate) -> WriteupDoc:
    """A write-up of this template in the launch's course (a tutor sees only their course's work)."""
    doc = course_object(WriteupDoc, doc_id)
    if doc.template_ref != template.ref:
        abort(404)
    return doc


@bp.get("/s/<sid>/marking/<code>/<template_id>/<int:doc_id>")
@launch_required(*TUTORS)
def mark(code: str, template_id: str, doc_id: int, error: str | None = None, status: int = 200):
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    doc = _doc_or_404(doc_id, template)
    submission = service.latest_submission(doc)
    rubric = programme.rubrics[template.rubric_id]
    first = service.mark_of(submission, FIRST) if submission else None
    agreed = service.mark_of(submission, AGREED) if submission else None
    moderating = bool(first and first.marker_id != ctx.person_id and submission.moderation in ("requested", "done"))
    editing = agreed if moderating else first
    grades = []
    if submission:
        mark_ids = [m.id for m in submission.marks]
        grades = db().scalars(select(GradeOutbox).where(GradeOutbox.source == "writeup-mark",
                                                        GradeOutbox.source_id.in_(mark_ids))
                              .order_by(GradeOutbox.id.desc())).all() if mark_ids else []
    history = service.events([s.id for s in doc.submissions])
    return render_template("marking/mark.html", ctx=ctx, programme=programme, template=template, doc=doc,
                           submission=submission, rubric=rubric, first=first, agreed=agreed, editing=editing,
                           moderating=moderating, grades=grades, history=history, error=error,
                           service=writeups, form_values=request.form if request.method == "POST" else None), status


@bp.post("/s/<sid>/marking/<code>/<template_id>/<int:doc_id>")
@launch_required(*TUTORS)
def act(code: str, template_id: str, doc_id: int):
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    doc = _doc_or_404(doc_id, template)
    submission = service.latest_submission(doc)
    if submission is None:
        abort(404)
    rubric = programme.rubrics[template.rubric_id]
    action = request.form.get("action", "save")
    try:
        if action in ("save", "release"):
            levels, comments, overall = service.read_form(rubric, request.form)
            kind = AGREED if request.form.get("kind") == AGREED else FIRST
            service.save_mark(submission, rubric, ctx.person_id, kind, levels, comments, overall)
            message = "Agreed mark recorded." if kind == AGREED else "Draft mark saved."
            if action == "release":
                db().flush()
                service.release(ctx, submission, template, rubric, ctx.person_id)
                message = "Mark released to the participant and sent to the gradebook."
        elif action == "return":
            service.return_submission(submission, ctx.person_id, request.form.get("return_feedback", ""))
            message = "Returned for resubmission. The participant can now edit and resubmit."
        elif action == "sample":
            service.request_moderation(submission, ctx.person_id)
            message = "Added to the moderation sample: a second marker records the agreed mark before release."
        else:
            abort(400)
    except MarkingError as exc:
        db().rollback()
        return mark(code, template_id, doc_id, error=str(exc), status=400)
    db().commit()
    if action == "release":
        kick(current_app._get_current_object())
    log.info("marking: %s on doc %s by person %s", action, doc.id, ctx.person_id)
    flash(message)
    return redirect(url_for("marking.mark", code=code, template_id=template_id, doc_id=doc_id), code=303)


def _course_docs(ids: list[str], template: WriteupTemplate) -> list[WriteupDoc]:
    """The write-ups of this template, among these ids, that are the launch's course's."""
    wanted = valid_ids(ids)
    docs = db().scalars(select(WriteupDoc).where(WriteupDoc.id.in_(wanted),
                                                 WriteupDoc.course_id == current_context().course_id,
                                                 WriteupDoc.template_ref == template.ref)).all() if wanted else []
    order = {doc_id: n for n, doc_id in enumerate(wanted)}
    return sorted(docs, key=lambda d: order[d.id])


@bp.post("/s/<sid>/marking/<code>/<template_id>/release")
@launch_required(*TUTORS)
def bulk_release(code: str, template_id: str):
    """Release a batch of marks at once; the progress page follows their delivery."""
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    rubric = programme.rubrics[template.rubric_id]
    released, skipped, entries = 0, [], []
    for doc in _course_docs(request.form.getlist("doc"), template):
        submission = service.latest_submission(doc)
        try:
            if submission is None:
                raise MarkingError("nothing submitted")
            entry = service.release(ctx, submission, template, rubric, ctx.person_id)
            db().flush()
            released += 1
            if entry is not None:
                entries.append(entry.id)
        except MarkingError as exc:
            skipped.append(f"{doc.person.display_name}: {exc}")
    db().commit()
    kick(current_app._get_current_object())
    if skipped:
        flash(f"Not released ({len(skipped)}): " + "; ".join(skipped[:10]))
    flash(f"Released {released} mark{'s' if released != 1 else ''}.")
    return redirect(url_for("marking.progress", code=code, template_id=template_id, ids=",".join(map(str, entries))),
                    code=303)


@bp.get("/s/<sid>/marking/<code>/<template_id>/progress")
@launch_required(*TUTORS)
def progress(code: str, template_id: str):
    ctx = current_context()
    programme, template = _template_or_404(code, template_id)
    ids = valid_ids(request.args.get("ids", "").split(","))
    entries = db().scalars(select(GradeOutbox).where(GradeOutbox.id.in_(ids),
                                                     GradeOutbox.course_id == ctx.course_id)).all() if ids else []
    counts = {s: sum(1 for e in entries if e.status == s) for s in (DELIVERED, SUPERSEDED, PENDING, FAILED)}
    counts["settled"] = sum(counts[s] for s in SETTLED)
    done = counts[PENDING] == 0
    return render_template("marking/progress.html", ctx=ctx, programme=programme, template=template,
                           entries=entries, counts=counts, done=done)


@bp.post("/s/<sid>/grades/<int:entry_id>/retry")
@launch_required(*TUTORS)
def retry(entry_id: int):
    entry = course_object(GradeOutbox, entry_id)
    retry_now(entry)
    db().commit()
    kick(current_app._get_current_object())
    flash("Sending the grade again now.")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/s/")
                    else url_for("core.landing"), code=303)


__all__ = ["bp", "RELEASED"]
