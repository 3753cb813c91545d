"""The case-study assessment in the VLE: the participant's response page (case, three questions,
word cap, autosave, deadline), the tutor's windows and marking queue, marking with second marking
and agreed outcomes, extensions and voiding, engagement (participant, tutor, mentor), attendance
at webinars and sessions, and the outcomes report (CSV and JSON)."""
from __future__ import annotations

import json
import logging
import re
from datetime import date

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import csrf
from ..auth import autosave_payload
from ..content.items import CatalogueItem, register_item_source
from ..content.model import Programme
from ..core.views import register_item_resolver
from .. import audit
from ..csv_export import csv_response
from ..privacy import pupil_check
from ..db import db, utcnow
from ..grades.delivery import kick
from ..models import COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR, Person
from ..permissions import course_participant, current_context, launch_required, mentee_subs, public_static, require_item, valid_id
from . import engagement as eng
from . import responses, service
from .models import (  # importing the models registers the assessment tables
    AGREED, FIRST, SECOND, SUBMITTED, AssessmentAttempt, AssessmentAttendance, AssessmentParticipant,
    AssessmentWindow,
)
from .pack import AssessmentConfig, words
from .service import AssessmentError, Conflict

log = logging.getLogger(__name__)
bp = Blueprint("assessment", __name__, static_folder="static", static_url_path="/assessment-static")
bp.record_once(public_static)  # the assessment's own static files: open to anyone
TUTORS = (TUTOR, COURSE_ADMIN)
_DFE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
RACE = "Someone else changed this at the same moment. Nothing was saved from this request: reload the page and try again."


# -- integration: the catalogue, and where a placement opens ------------------------------------

def _catalogue_items(programme: Programme) -> list[CatalogueItem]:
    cfg = service.config_for(programme.code)
    if cfg is None:
        return []
    develops = tuple(dict.fromkeys([s for c in cfg.cases for s in c.statements] + list(cfg.statements)))
    return [CatalogueItem(ref=cfg.ref, programme=programme.code, group="Summative assessment",
                          kind_label="Case-study assessment", title=cfg.title,
                          description=cfg.summary or f"An open-book case study answered in {cfg.window_days} days.",
                          develops=develops, marking="tutor", score_maximum=1.0)]


def _resolve(ctx) -> str | None:
    cfg = service.find_config(ctx.item_ref)
    if cfg is None:
        return None
    if ctx.role == PARTICIPANT:
        return url_for("assessment.response", code=cfg.programme)
    if ctx.role in TUTORS:
        return url_for("assessment.queue", code=cfg.programme)
    if ctx.role == MENTOR:
        return url_for("assessment.engagement", code=cfg.programme)
    return None


register_item_source(_catalogue_items)
register_item_resolver(_resolve)


def _config_or_404(code: str) -> AssessmentConfig:
    cfg = service.config_for(code)
    if cfg is None:
        abort(404)
    require_item(cfg.ref, code)
    return cfg


def _window_or_404(cfg: AssessmentConfig, number: int) -> AssessmentWindow:
    number = valid_id(number)  # a number too large for the database names no window
    window = db().scalar(select(AssessmentWindow).where(AssessmentWindow.course_id == current_context().course_id,
                                                        AssessmentWindow.item_ref == cfg.ref,
                                                        AssessmentWindow.number == number)) if number else None
    if window is None:
        abort(404)
    return window


# -- the participant's response page -------------------------------------------------------------

def _participant_view(cfg: AssessmentConfig):
    """(all windows, my attempts by window id, the windows I am expected in, my current window)."""
    ctx = current_context()
    all_windows = service.windows(ctx.course_id, cfg)
    mine = service.attempts_by_person(ctx.course_id, cfg, ctx.person_id).get(ctx.person_id, {})
    expected = service.expected_windows(all_windows, mine, utcnow())
    return all_windows, mine, expected, (expected[-1] if expected else None)


def _render_response(cfg: AssessmentConfig, *, answers: dict | None = None, error: str | None = None,
                     problems: list[str] | None = None, status: int = 200, pupil_flags: list | None = None):
    ctx = current_context()
    now = utcnow()
    all_windows, mine, expected, window = _participant_view(cfg)
    attempt = mine.get(window.id) if window else None
    case = cfg.case(window.case_id) if window and window.opens_at <= now else None
    blocked = service.can_edit(window, attempt, now) if window else "No window yet."
    if window and window.opens_at <= now and case is None:
        log.error("case %s of window %s is no longer in the %s pack", window.case_id, window.id, cfg.programme)
        error = error or ("The case for this window is missing from the programme pack; this has been logged for your provider to fix. "
                          "nothing you wrote has been lost.")
        blocked = blocked or "The case is not available just now."
    if answers is None:
        answers = dict(attempt.answers) if attempt else {}
    history = []
    for w in expected[:-1]:
        a = mine.get(w.id)
        history.append((w, a, cfg.case(w.case_id), service.final_mark(a) if a and a.outcome else None))
    me = eng.compute(ctx.course_id, cfg, [db().get(Person, ctx.person_id)])[0]
    released = service.final_mark(attempt) if attempt and attempt.outcome in ("passed", "failed") else None
    return render_template(
        "assessment/response.html", ctx=ctx, cfg=cfg, programme=service.programme_of(cfg), window=window,
        attempt=attempt, case=case, answers=answers, editable=window is not None and blocked is None, blocked=blocked,
        now=now, deadline=service.deadline(window, attempt) if window else None,
        time_left=service.time_left(service.deadline(window, attempt), now) if window else None,
        state=service.state(window, attempt, now) if window else None, history=history, me=me,
        attempt_no=service.attempt_number(all_windows, mine, window) if window else 1,
        words=words, total_words=service.total_words(cfg, answers), released=released, error=error,
        problems=problems or [], fmt_utc=service.fmt_utc, pupil_flags=pupil_flags or [],
        # After the names warning the declaration stays ticked, so "Submit anyway" submits.
        confirmed=bool(pupil_flags) and bool(request.form.get("confirm")),
        draft_key=f"npq-assessment:{ctx.platform_id}:{ctx.course_id}:{ctx.person_id}:{cfg.ref}:{window.number if window else 0}",
    ), status


@bp.get("/s/<sid>/assessment/<code>")
@launch_required()
def response(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    if ctx.role in TUTORS:
        return redirect(url_for("assessment.queue", code=code))
    if ctx.role != PARTICIPANT:
        return redirect(url_for("assessment.engagement", code=code))
    return _render_response(cfg)


def _current_window_for_post(cfg: AssessmentConfig, number: int):
    """The participant's current window, which must be the one the page was for."""
    _, _, _, window = _participant_view(cfg)
    if window is None or window.number != number:
        return None
    return window


@bp.post("/s/<sid>/assessment/<code>/windows/<int:number>/draft")
@csrf.exempt
@launch_required(PARTICIPANT)
def autosave(code: str, number: int):
    payload = autosave_payload()
    ctx = current_context()
    cfg = _config_or_404(code)
    window = _current_window_for_post(cfg, number)
    if window is None:
        return jsonify({"error": "This window is no longer the one you are answering. Reload the page: your text is "
                                 "kept on this device."}), 400
    now = utcnow()
    attempt = service.get_attempt(window, ctx.person_id)
    blocked = service.can_edit(window, attempt, now)
    if blocked:
        return jsonify({"error": blocked}), 400
    try:
        answers = service.clean_answers(cfg, payload.get("answers"))
        attempt = attempt or service.get_attempt(window, ctx.person_id, create=True,
                                                 all_windows=service.windows(ctx.course_id, cfg), cfg=cfg)
        base = payload.get("version")
        responses.save_draft(attempt, cfg, answers, base if isinstance(base, int) else None)
        db().commit()
    except AssessmentError as exc:
        db().rollback()
        return jsonify({"error": str(exc)}), 400
    except Conflict as exc:
        db().rollback()
        return jsonify({"error": "conflict", "version": exc.attempt.version, "answers": exc.attempt.answers,
                        "saved_at": exc.attempt.updated_at.isoformat()}), 409
    except IntegrityError:
        db().rollback()  # another tab created the attempt at the same moment: the next save goes through
        return jsonify({"error": "Not saved yet; trying again shortly."}), 503
    return jsonify({"version": attempt.version, "saved_at": attempt.updated_at.isoformat(),
                    "words": attempt.word_count})


@bp.post("/s/<sid>/assessment/<code>/windows/<int:number>")
@launch_required(PARTICIPANT)
def save_or_submit(code: str, number: int):
    ctx = current_context()
    cfg = _config_or_404(code)
    raw = {q.id: request.form.get(f"answer-{q.id}") for q in cfg.questions}
    raw = {k: v for k, v in raw.items() if v is not None}
    window = _current_window_for_post(cfg, number)
    if window is None:
        return _render_response(cfg, answers=raw, status=409,
                                error="This window is no longer the one you are answering; your text below has not "
                                      "been saved. Copy what you need, then reload the page.")
    now = utcnow()
    attempt = service.get_attempt(window, ctx.person_id)
    blocked = service.can_edit(window, attempt, now)
    if blocked:
        return _repeated_submit(cfg, attempt, raw) or _render_response(cfg, status=409, error=blocked)
    try:
        answers = service.clean_answers(cfg, raw)
    except AssessmentError as exc:
        db().rollback()
        return _render_response(cfg, answers=raw, error=str(exc), status=400)
    try:
        attempt = attempt or service.get_attempt(window, ctx.person_id, create=True,
                                                 all_windows=service.windows(ctx.course_id, cfg), cfg=cfg)
        responses.save_draft(attempt, cfg, answers, request.form.get("version", type=int))
    except IntegrityError:
        db().rollback()
        return _render_response(cfg, answers=raw, status=409, error=RACE)
    except (Conflict, responses.Closed) as exc:  # another tab saved or submitted first: this text is shown back
        db().rollback()
        return _repeated_submit(cfg, attempt, raw) or _render_response(
            cfg, answers=raw, status=409, error=str(exc) if isinstance(exc, responses.Closed) else
            "Your response was changed in another tab or on another device since you opened this page. What you "
            "see here has not been saved: copy what you need, then reload to see the other version.")
    action = request.form.get("action")
    # "Submit anyway": the participant read the warning about names or dates of birth and submits.
    warned = action == pupil_check.SUBMIT_ANYWAY
    if action != "submit" and not warned:
        db().commit()
        flash("Draft saved.")
        return redirect(url_for("assessment.response", code=code) + "#response", code=303)
    problems = service.submission_problems(cfg, answers)
    if not request.form.get("confirm"):
        problems.append("Tick the declaration that the response is your own work.")
    if problems:
        db().commit()  # the draft is kept; only the submission is refused
        return _render_response(cfg, answers=answers, problems=problems, status=400,
                                error="Not submitted yet. Your draft is saved; put these right, then submit again.")
    flags = [] if warned else pupil_check.check(answers)
    if flags:
        db().commit()  # the draft is kept as written; the participant decides
        return _render_response(cfg, answers=answers, pupil_flags=flags)
    responses.submit(ctx, cfg, attempt)
    db().commit()
    kick(current_app._get_current_object())
    log.info("assessment submitted: %s window %s by person %s%s", cfg.ref, window.number, ctx.person_id,
             " (late)" if attempt.late else "")
    flash("Submitted." + (" The deadline had passed, so it is recorded as late." if attempt.late else "")
          + " Your tutor will mark it; you will see the outcome here.")
    return redirect(url_for("assessment.response", code=code), code=303)


def _repeated_submit(cfg: AssessmentConfig, attempt: AssessmentAttempt | None, raw: dict):
    """A submit of exactly the response that stands submitted (a second click, or another tab
    sending the same page at the same moment) is shown that one submission, as a success."""
    if request.form.get("action") != "submit":
        return None
    try:
        answers = service.clean_answers(cfg, raw)
    except AssessmentError:
        return None
    if not responses.already_submitted(attempt, answers):
        return None
    flash(f"Already submitted on {service.fmt_utc(attempt.submitted_at)}. Your tutor will mark it; you will see the "
          "outcome here.")
    return redirect(url_for("assessment.response", code=cfg.programme), code=303)


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
        warning=warning, error=error, form=request.form if request.method == "POST" else {},
        fmt_utc=service.fmt_utc), status


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
    flash(f"Window {window.number} scheduled: “{case.title}” is released on {service.fmt_utc(window.opens_at)} and "
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
            service.release(ctx, cfg, row.attempt)
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
        action=(form or {}).get("action"), fmt_utc=service.fmt_utc, now=now), status


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
            outcome, justification, statements = service.read_mark(cfg, request.form)
            service.record_mark(cfg, attempt, action, ctx.person_id, outcome, justification, statements)
            message = {FIRST: "First mark recorded.", SECOND: "Second mark recorded.",
                       AGREED: "Agreed outcome recorded."}[action]
            if action == FIRST and attempt.second_marking:
                message += (" A fail is always second-marked: a second marker marks it next."
                            if attempt.second_marking == "fail" else
                            " This pass is in the second-marking sample: a second marker marks it next.")
        elif action == "sample":
            if attempt is None:
                raise AssessmentError("Nothing has been submitted to mark.")
            service.request_second(attempt, ctx.person_id)
            message = "Added to the second-marking sample."
        elif action == "release":
            if attempt is None:
                raise AssessmentError("Nothing has been submitted to mark.")
            service.release(ctx, cfg, attempt)
            message = "Outcome released to the participant and sent to the gradebook."
        elif action == "extend":
            until = service.parse_when(request.form.get("until_utc"), request.form.get("until"))
            attempt = attempt or service.get_attempt(window, person.id, create=True,
                                                     all_windows=service.windows(ctx.course_id, cfg), cfg=cfg)
            service.extend(attempt, ctx.person_id, until, request.form.get("reason", ""))
            message = f"Extension granted: the new deadline is {service.fmt_utc(until)}."
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


# -- engagement ----------------------------------------------------------------------------------

@bp.get("/s/<sid>/assessment/<code>/engagement")
@launch_required()
def engagement(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    if ctx.role == PARTICIPANT:
        me = eng.compute(ctx.course_id, cfg, [db().get(Person, ctx.person_id)])[0]
        return render_template("assessment/engagement_person.html", ctx=ctx, cfg=cfg, pe=me, own=True,
                               programme=service.programme_of(cfg))
    if ctx.role == MENTOR:
        people = eng.for_mentor(ctx.course_id, cfg, sorted(mentee_subs()))  # their own mentees only
    else:
        people = eng.compute(ctx.course_id, cfg)
    attendance = {}
    if ctx.role in TUTORS:
        attendance = dict(db().execute(
            select(AssessmentAttendance.session_id, func.count()).where(AssessmentAttendance.course_id == ctx.course_id)
            .group_by(AssessmentAttendance.session_id)).all())
    return render_template("assessment/engagement.html", ctx=ctx, cfg=cfg, people=people, attendance=attendance,
                           programme=service.programme_of(cfg), mentor=ctx.role == MENTOR)


@bp.get("/s/<sid>/assessment/<code>/engagement/<int:person_id>")
@launch_required(TUTOR, COURSE_ADMIN, MENTOR)
def engagement_person(code: str, person_id: int, error: str | None = None, status: int = 200):
    ctx = current_context()
    cfg = _config_or_404(code)
    person = course_participant(person_id)  # mentors: their own mentees only
    pe = eng.compute(ctx.course_id, cfg, [person])[0]
    return render_template("assessment/engagement_person.html", ctx=ctx, cfg=cfg, pe=pe, own=False, error=error,
                           programme=service.programme_of(cfg)), status


@bp.post("/s/<sid>/assessment/<code>/engagement/<int:person_id>")
@launch_required(*TUTORS)
def set_participant_id(code: str, person_id: int):
    ctx = current_context()
    _config_or_404(code)
    person = course_participant(person_id)
    value = (request.form.get("dfe_participant_id") or "").strip()
    if value and not _DFE_ID.match(value):
        return engagement_person(code, person_id, status=400,
                                 error="A DfE participant ID is letters, digits and hyphens (it is usually a UUID such "
                                       "as 7a8b9c0d-1e2f-4a5b-8c9d-0e1f2a3b4c5d), at most 64 characters.")
    row = db().scalar(select(AssessmentParticipant).where(AssessmentParticipant.course_id == ctx.course_id,
                                                          AssessmentParticipant.person_id == person.id))
    if row is None:
        row = AssessmentParticipant(course_id=ctx.course_id, person_id=person.id)
        db().add(row)
    row.dfe_participant_id = value or None
    service.record(ctx.course_id, ctx.person_id, "DfE participant ID recorded", person=person.id, value=value)
    try:
        db().commit()
    except IntegrityError:
        db().rollback()
        return engagement_person(code, person_id, error=RACE, status=409)
    flash("DfE participant ID saved." if value else "DfE participant ID cleared.")
    return redirect(url_for("assessment.engagement_person", code=code, person_id=person_id), code=303)


@bp.route("/s/<sid>/assessment/<code>/attendance/<session_id>", methods=["GET", "POST"])
@launch_required(*TUTORS)
def attendance(code: str, session_id: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    session = cfg.engagement.session(session_id)
    if session is None:
        abort(404)
    people = service.participants(ctx.course_id)
    rows = {r.person_id: r for r in db().scalars(select(AssessmentAttendance).where(
        AssessmentAttendance.course_id == ctx.course_id, AssessmentAttendance.session_id == session_id))}
    error, held = None, utcnow().date().isoformat()
    if request.method == "POST":
        held = (request.form.get("held_on") or "").strip()
        try:
            held_on = date.fromisoformat(held)
        except ValueError:
            held_on = None
        if held_on is None:
            error = "Give the date the session was held (YYYY-MM-DD)."
        elif held_on > utcnow().date():
            error = "Attendance is recorded after the session: the date is in the future."
        else:
            known = {p.id for p in people}
            ticked = {int(i) for i in request.form.getlist("person") if i.isdigit() and int(i) in known}
            added = removed = 0
            for pid in ticked - set(rows):
                db().add(AssessmentAttendance(course_id=ctx.course_id, person_id=pid, session_id=session_id,
                                              held_on=held_on, recorded_by_id=ctx.person_id))
                added += 1
            for pid in set(rows) - ticked:
                db().delete(rows[pid])
                removed += 1
            service.record(ctx.course_id, ctx.person_id, "session attendance recorded", session=session_id,
                           added=added, removed=removed, held_on=held_on.isoformat())
            try:
                db().commit()
            except IntegrityError:
                db().rollback()
                return render_template("assessment/attendance.html", ctx=ctx, cfg=cfg, session=session,
                                       people=people, rows={}, ticked=ticked, held=held, error=RACE), 409
            flash(f"Attendance saved: {len(ticked)} attended “{session.title}”.")
            return redirect(url_for("assessment.engagement", code=code), code=303)
    ticked_now = ({int(i) for i in request.form.getlist("person") if i.isdigit()} if request.method == "POST"
                  else set(rows))
    return render_template("assessment/attendance.html", ctx=ctx, cfg=cfg, session=session, people=people,
                           rows=rows, ticked=ticked_now, held=held, error=error), (400 if error else 200)


# -- the outcomes report -------------------------------------------------------------------------

@bp.get("/s/<sid>/assessment/<code>/outcomes")
@launch_required(*TUTORS)
def outcomes(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    people = eng.compute(ctx.course_id, cfg)
    return render_template("assessment/outcomes.html", ctx=ctx, cfg=cfg, columns=eng.report_columns(cfg),
                           rows=eng.report_rows(cfg, people), programme=service.programme_of(cfg))


def _filename(cfg: AssessmentConfig, ext: str) -> str:
    course = re.sub(r"[^A-Za-z0-9]+", "-", current_context().course_title).strip("-")[:60] or "course"
    return f"npq-outcomes-{cfg.programme.lower()}-{course}-{utcnow():%Y%m%d}.{ext}"


def _audit_export(fmt: str, people: int) -> None:
    """The DfE outcomes export lists every participant: who made it goes in the audit log."""
    ctx = current_context()
    audit.record(f"export.dfe_outcomes_{fmt}", target_type="course", target_id=ctx.course_id,
                 detail={"people": people})
    db().commit()


@bp.get("/s/<sid>/assessment/<code>/outcomes.csv")
@launch_required(*TUTORS)
def outcomes_csv(code: str):
    cfg = _config_or_404(code)
    columns = eng.report_columns(cfg)
    rows = eng.report_rows(cfg, eng.compute(current_context().course_id, cfg))
    _audit_export("csv", len(rows))
    return csv_response(_filename(cfg, "csv"), columns, ([row[c] for c in columns] for row in rows))


@bp.get("/s/<sid>/assessment/<code>/outcomes.json")
@launch_required(*TUTORS)
def outcomes_json(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    people = eng.compute(ctx.course_id, cfg)
    data = eng.to_json(cfg, ctx.course_title, people)
    _audit_export("json", len(people))
    return Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{_filename(cfg, "json")}"', "Cache-Control": "private, no-store"})


__all__ = ["bp"]
