"""The case-study assessment for tutors: windows, the marking queue, bulk release, case previews,
and one participant's attempt (first, second and agreed marks, release, extensions, voiding)."""
from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from .. import dates
from ..db import db, utcnow
from ..grades.delivery import kick
from ..permissions import course_participant, current_context, launch_required
from . import marks, records, service
from .models import AGREED, FIRST, SECOND, SUBMITTED
from .pack import words
from .service import AssessmentError
from .views import RACE, TUTORS, _config_or_404, _window_or_404, bp

log = logging.getLogger(__name__)


# -- tutors: windows and the marking queue ---------------------------------------------------------

@bp.get("/s/<sid>/assessment/<code>/marking")
@launch_required(*TUTORS)
def queue(code: str, error: str | None = None, status: int = 200):
    ctx = current_context()
    cfg = _config_or_404(code)
    warning = None
    if request.method == "GET":
        from ..marking.service import sync_roster  # noqa: PLC0415 (the class list, as the marking queue does)

        warning = sync_roster(ctx, force=request.args.get("refresh") == "1")
    all_windows = service.windows(ctx.course_id, cfg)
    number = request.args.get("window", type=int) or (all_windows[-1].number if all_windows else None)
    window = next((w for w in all_windows if w.number == number), None)
    rows = service.queue(ctx.course_id, cfg, window, all_windows) if window else []
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    only = request.args.get("state", "")
    shown = [r for r in rows if r.state == only] if only in service.QUEUE_STATES else rows
    return render_template(
        "assessment/queue.html", ctx=ctx, cfg=cfg, programme=service.programme_of(cfg), windows=all_windows,
        window=window, case=cfg.case(window.case_id) if window else None, rows=shown, counts=counts, only=only,
        states=service.QUEUE_STATES, free_cases=service.unused_cases(cfg, all_windows), now=utcnow(),
        warning=warning, error=error, form=request.form if request.method == "POST" else {}), status


@bp.post("/s/<sid>/assessment/<code>/marking/windows")
@launch_required(*TUTORS)
def open_window(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    opens_at = service.parse_when(request.form.get("opens_at_utc"), request.form.get("opens_at"))
    if opens_at is None and (request.form.get("opens_at") or "").strip():
        return queue(code, error="The start could not be read: give a date and time, e.g. 2027-03-01 09:00.",
                     status=400)
    try:
        window = service.open_window(ctx, cfg, request.form.get("case", ""), opens_at)
        db().commit()
    except AssessmentError as exc:
        db().rollback()
        return queue(code, error=str(exc), status=400)
    except IntegrityError:
        db().rollback()
        return queue(code, error=RACE, status=409)
    log.info("assessment window %s scheduled for course %s by person %s", window.number, ctx.course_id, ctx.person_id)
    case = cfg.case(window.case_id)
    flash(f"Window {window.number} scheduled: “{case.title}” is released on {dates.format_deadline(window.opens_at)} and "
          f"responses are due {cfg.window_days} days later.")
    return redirect(url_for("assessment.queue", code=code, window=window.number), code=303)


@bp.post("/s/<sid>/assessment/<code>/marking/windows/<int:number>/release")
@launch_required(*TUTORS)
def bulk_release(code: str, number: int):
    ctx = current_context()
    cfg = _config_or_404(code)
    window = _window_or_404(cfg, number)
    released = 0
    for row in service.queue(ctx.course_id, cfg, window, service.windows(ctx.course_id, cfg)):
        if row.state == "ready to release":
            marks.release(ctx, cfg, row.attempt)
            released += 1
    db().commit()
    kick(current_app._get_current_object())
    flash(f"Released {released} outcome{'s' if released != 1 else ''} to participants and the gradebook.")
    return redirect(url_for("assessment.queue", code=code, window=number), code=303)


@bp.get("/s/<sid>/assessment/<code>/cases/<case_id>")
@launch_required(*TUTORS)
def case_preview(code: str, case_id: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    case = cfg.case(case_id)
    if case is None:
        abort(404)
    return render_template("assessment/case_preview.html", ctx=ctx, cfg=cfg, case=case,
                           programme=service.programme_of(cfg))


# -- tutors: one participant in one window -------------------------------------------------------

@bp.get("/s/<sid>/assessment/<code>/marking/windows/<int:number>/<int:person_id>")
@launch_required(*TUTORS)
def mark(code: str, number: int, person_id: int, error: str | None = None, status: int = 200):
    ctx = current_context()
    cfg = _config_or_404(code)
    window = _window_or_404(cfg, number)
    person = course_participant(person_id)
    attempt = service.get_attempt(window, person.id)
    now = utcnow()
    first = attempt.mark(FIRST) if attempt else None
    second = attempt.mark(SECOND) if attempt else None
    agreed = attempt.mark(AGREED) if attempt else None
    # Blind second marking: until the second mark is in, only the first marker sees the first mark.
    first_hidden = bool(first and attempt.second_marking and second is None and first.marker_id != ctx.person_id)
    programme = service.programme_of(cfg)
    case = cfg.case(window.case_id)
    guidance = [programme.statements[s] for s in cfg.guidance_statements(case) if s in programme.statements]
    form = request.form if request.method == "POST" else None
    # Which judgement this tutor can record now.
    form_kind, editing = None, None
    if attempt is not None and attempt.status == SUBMITTED and not attempt.outcome:
        if first is None or (first.marker_id == ctx.person_id and second is None):
            form_kind, editing = FIRST, first
        elif attempt.second_marking and second is None:
            form_kind = SECOND
        elif second is not None:
            form_kind, editing = AGREED, agreed
    proposed = editing.outcome if editing else (
        first.outcome if form_kind == AGREED and first and second and first.outcome == second.outcome else None)
    return render_template(
        "assessment/mark.html", form_kind=form_kind, editing=editing, proposed=proposed, ctx=ctx, cfg=cfg, programme=programme, window=window, case=case, person=person,
        attempt=attempt, first=first, second=second, agreed=agreed, final=service.final_mark(attempt) if attempt else None,
        first_hidden=first_hidden, state=service.state(window, attempt, now), deadline=service.deadline(window, attempt),
        guidance=guidance, grades=service.grades_for(attempt) if attempt else [],
        history=service.events_for(attempt) if attempt else [], error=error, form=form, words=words,
        records=records.for_attempt(attempt) if attempt else [], record_kinds=records.KIND_LABELS,
        action=(form or {}).get("action"), now=now), status


@bp.post("/s/<sid>/assessment/<code>/marking/windows/<int:number>/<int:person_id>")
@launch_required(*TUTORS)
def act(code: str, number: int, person_id: int):
    ctx = current_context()
    cfg = _config_or_404(code)
    window = _window_or_404(cfg, number)
    person = course_participant(person_id)
    action = request.form.get("action", "")
    attempt = service.get_attempt(window, person.id)
    try:
        if action in (FIRST, SECOND, AGREED):
            if attempt is None or attempt.status != SUBMITTED:
                raise AssessmentError("Nothing has been submitted to mark.")
            outcome, justification, statements = marks.read_mark(cfg, request.form)
            marks.record_mark(cfg, attempt, action, ctx.person_id, outcome, justification, statements)
            message = {FIRST: "First mark recorded.", SECOND: "Second mark recorded.",
                       AGREED: "Agreed outcome recorded."}[action]
            if action == FIRST and attempt.second_marking:
                message += (" A fail is always second-marked: a second marker marks it next."
                            if attempt.second_marking == "fail" else
                            " This pass is in the second-marking sample: a second marker marks it next.")
        elif action == "sample":
            if attempt is None:
                raise AssessmentError("Nothing has been submitted to mark.")
            marks.request_second(attempt, ctx.person_id)
            message = "Added to the second-marking sample."
        elif action == "release":
            if attempt is None:
                raise AssessmentError("Nothing has been submitted to mark.")
            marks.release(ctx, cfg, attempt)
            message = "Outcome released to the participant and sent to the gradebook."
        elif action == "extend":
            until = service.parse_when(request.form.get("until_utc"), request.form.get("until"))
            attempt = attempt or service.get_attempt(window, person.id, create=True,
                                                     all_windows=service.windows(ctx.course_id, cfg), cfg=cfg)
            service.extend(attempt, ctx.person_id, until, request.form.get("reason", ""))
            message = f"Extension granted: the new deadline is {dates.format_deadline(until)}."
        elif action == "void":
            attempt = attempt or service.get_attempt(window, person.id, create=True,
                                                     all_windows=service.windows(ctx.course_id, cfg), cfg=cfg)
            service.void(ctx, cfg, attempt, request.form.get("void_reason", ""))
            message = "Attempt voided. The participant can sit the next window."
        else:
            abort(400)
        db().commit()
    except AssessmentError as exc:
        db().rollback()
        return mark(code, number, person_id, error=str(exc), status=400)
    except IntegrityError:
        db().rollback()
        return mark(code, number, person_id, error=RACE, status=409)
    if action in ("release", "void"):
        kick(current_app._get_current_object())
    log.info("assessment: %s on window %s person %s by %s", action, number, person_id, ctx.person_id)
    flash(message)
    return redirect(url_for("assessment.mark", code=code, number=number, person_id=person_id), code=303)
