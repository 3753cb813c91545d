"""Participant pages: the programme's modules and progress, and doing an activity."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from ..extensions import csrf
from ..auth import autosave_payload
from ..permissions import current_context, launch_required, require_item
from ..content import Activity, Programme, catalogue
from ..content.coverage import activities_by_unit
from .. import dates
from ..db import db, reads_only
from ..grades.delivery import kick
from ..grades.outbox import enqueue_score
from sqlalchemy import select

from ..models import COURSE_ADMIN, PARTICIPANT, TUTOR, ActivityWork, Question
from ..content import bibliography
from .home import read_course_home
from .checks import Policy, attempt_state, refusal, shuffled_options
from .service import (
    AnswerError,
    AttemptsUsed,
    Conflict,
    clean_answers,
    get_work,
    mark,
    missing_answers,
    progress,
    progress_of,
    save_draft,
    submit,
)

log = logging.getLogger(__name__)
bp = Blueprint("activities", __name__)


def course_programme() -> Programme | None:
    code = current_context().programme_code
    return catalogue().get(code) if code else None


def _activity_or_404(code: str, activity_id: str) -> tuple[Programme, Activity]:
    programme = catalogue().get(code)
    activity = programme.activities.get(activity_id) if programme else None
    if activity is None:
        abort(404)
    require_item(activity.ref, code)
    return programme, activity


@bp.get("/s/<sid>/programme")
@reads_only
@launch_required(PARTICIPANT, TUTOR, COURSE_ADMIN)  # mentors have their mentees page
def programme_home():
    ctx = current_context()
    programme = course_programme()
    if programme is None:
        return render_template("activities/no_programme.html", ctx=ctx)
    home = read_course_home(ctx.person_id, ctx.course_id)
    prog = progress_of(home.work_status, programme) if ctx.role == PARTICIPANT else None
    from ..delivery import service as delivery  # noqa: PLC0415

    from ..assessment.service import config_for  # noqa: PLC0415

    return render_template("activities/programme.html", ctx=ctx, programme=programme, progress=prog,
                           writeup_status=home.writeup_status, windows=home.windows,
                           window_state=delivery.window_state,
                           pacing=delivery.pacing, has_assessment=config_for(programme.code) is not None)


@bp.get("/s/<sid>/framework")
@reads_only
@launch_required(PARTICIPANT, TUTOR, COURSE_ADMIN)  # as the programme page
def framework():
    """The course programme's framework in full, for reference: its areas and their statements."""
    ctx = current_context()
    programme = course_programme()
    if programme is None:
        return render_template("activities/no_programme.html", ctx=ctx)
    return render_template("activities/framework.html", ctx=ctx, programme=programme)


@bp.get("/s/<sid>/activities/<code>/<activity_id>")
@launch_required(PARTICIPANT, TUTOR, COURSE_ADMIN)  # mentors have their mentees page
def activity_page(code: str, activity_id: str):
    ctx = current_context()
    programme, activity = _activity_or_404(code, activity_id)
    work = get_work(ctx.person_id, ctx.course_id, activity) if ctx.role == PARTICIPANT else None
    prog = progress(ctx.person_id, ctx.course_id, programme) if ctx.role == PARTICIPANT else None
    asked = db().scalars(select(Question).where(Question.course_id == ctx.course_id,
                                                Question.person_id == ctx.person_id,
                                                Question.item_ref == activity.ref)
                         .order_by(Question.asked_at)).all() if ctx.role == PARTICIPANT else []
    return render_template("activities/activity.html", questions=asked, progress=prog,
                           **_page(programme, activity, work))


def _page(programme: Programme, activity: Activity, work: ActivityWork | None) -> dict:
    """What every rendering of an activity page shows: its statements and references, the person's
    own order of options, their attempts and, when the policy allows, the feedback on the last one."""
    ctx = current_context()
    last = work.submissions[-1] if work and work.submissions else None
    attempts = attempt_state(programme, activity, work) if activity.auto_marked else None
    results = mark(activity, last.answers)[1] if last and attempts and attempts.show_feedback else []
    return dict(ctx=ctx, programme=programme, module=programme.module_of(activity), activity=activity, work=work,
                last=last, results=results, attempts=attempts, options=shuffled_options(ctx.person_id, activity),
                statements=programme.statements_for(activity.develops),
                references=bibliography.cited(programme, activity),
                draft_key=f"npq-draft:{ctx.platform_id}:{ctx.course_id}:{ctx.person_id}:{activity.ref}")


@bp.post("/s/<sid>/activities/<code>/<activity_id>/draft")
@csrf.exempt
@launch_required(PARTICIPANT)
def autosave(code: str, activity_id: str):
    """Autosave from the page's script (JSON, or a beacon when the page is left)."""
    payload = autosave_payload()
    ctx = current_context()
    _, activity = _activity_or_404(code, activity_id)
    try:
        answers = clean_answers(activity, payload.get("answers"))
    except AnswerError as exc:
        return jsonify({"error": str(exc)}), 400
    base = payload.get("version")
    work = get_work(ctx.person_id, ctx.course_id, activity, create=True)
    try:
        save_draft(work, answers, base if isinstance(base, int) else None)
    except Conflict as exc:
        db().rollback()
        return jsonify({"error": "conflict", "version": exc.work.version, "answers": exc.work.answers,
                        "saved_at": exc.work.updated_at.isoformat()}), 409
    db().commit()
    return jsonify({"version": work.version, "saved_at": work.updated_at.isoformat()})


@bp.post("/s/<sid>/activities/<code>/<activity_id>")
@launch_required(PARTICIPANT)
def save_or_submit(code: str, activity_id: str):
    """The form's own post: works without JavaScript. Saves the draft, or submits it."""
    ctx = current_context()
    programme, activity = _activity_or_404(code, activity_id)
    raw = {q.id: request.form.get(f"answer-{q.id}") for q in activity.questions}
    raw = {k: v for k, v in raw.items() if v is not None}
    work = get_work(ctx.person_id, ctx.course_id, activity, create=True)
    try:
        answers = clean_answers(activity, raw)
    except AnswerError as exc:
        db().rollback()
        return _redisplay(programme, activity, raw, str(exc))
    base = request.form.get("version", type=int)
    missing = missing_answers(activity, answers) if request.form.get("action") == "submit" else []
    if request.form.get("action") == "submit" and not missing:
        return _submit(programme, activity, work, answers, raw, base)
    conflict = _save_draft(programme, activity, work, answers, raw, base)
    if conflict:
        return conflict
    if missing:
        return _redisplay(programme, activity, raw, "Not submitted yet: answer every question first. Your "
                          "answers so far are saved as a draft.", missing=missing)
    flash("Draft saved.")
    return redirect(url_for("activities.activity_page", code=code, activity_id=activity_id), code=303)


def _submit(programme: Programme, activity: Activity, work: ActivityWork, answers: dict[str, str], raw: dict,
            base: int | None):
    """Submit. Only the request that records the submission sends the score; a repeated submit (a
    second click, or another tab sending the same answers at the same moment) is shown the
    submission already made."""
    ctx = current_context()
    try:
        done = submit(work, activity, answers, base, Policy.of(programme).attempts if activity.auto_marked else None)
    except Conflict:
        db().rollback()
        return _redisplay(programme, activity, raw, CHANGED_ELSEWHERE, status=409)
    except AttemptsUsed:
        return _keep_as_draft(programme, activity, work, answers, raw, base)
    submission = done.submission
    db().expire(work, ["submissions"])  # the new submission counts in the attempts and the best score
    state = attempt_state(programme, activity, work) if activity.auto_marked else None
    scored = f" You scored {submission.score:g} out of {activity.max_score}.{_attempts_note(state)}" if state else ""
    if not done.new:
        db().rollback()
        flash(f"Already submitted at {dates.format_time(submission.submitted_at)}: nothing else was recorded.{scored}")
    else:
        entry = None
        if activity.auto_marked:
            entry = enqueue_score(ctx, resource_id=activity.ref, label=activity.title,
                                  score_given=state.gradebook_score, score_maximum=activity.max_score,
                                  activity_progress="Completed", grading_progress="FullyGraded",
                                  source="activity", source_id=submission.id,
                                  submitted_at=submission.submitted_at)
        db().commit()
        if entry is not None:
            kick(current_app._get_current_object())
        log.info("activity submitted: %s by person %s in course %s", activity.ref, ctx.person_id, ctx.course_id)
        flash(f"Submitted.{scored}" if activity.auto_marked else "Submitted. Well done.")
    return redirect(url_for("activities.activity_page", code=programme.code, activity_id=activity.id), code=303)


def _attempts_note(state) -> str:
    if state.left is None:
        return ""
    counts = " Your best score is the one that counts." if state.policy.score == "best" else ""
    if state.left:
        return f" You have {state.left} attempt{'s' if state.left != 1 else ''} left.{counts}"
    return f" That was your last attempt.{counts}"


def _save_draft(programme: Programme, activity: Activity, work: ActivityWork, answers: dict, raw: dict,
                base: int | None):
    """Save the draft on the version the page was opened at; the 409 page if another tab saved first."""
    try:
        save_draft(work, answers, base)
    except Conflict:
        db().rollback()
        return _redisplay(programme, activity, raw, CHANGED_ELSEWHERE, status=409)
    db().commit()
    return None


def _keep_as_draft(programme: Programme, activity: Activity, work: ActivityWork, answers: dict, raw: dict,
                   base: int | None):
    """A submission beyond the attempts allowed: refused with the reason, the answers kept as a draft.
    Several tabs refused at once with the same answers: one saves the draft and the others find
    exactly their answers saved, so they get the same refusal rather than "changed in another tab"."""
    try:
        save_draft(work, answers, base)
    except Conflict:
        db().rollback()
        if work.answers != answers:  # read again after the rollback: the row as now committed
            return _redisplay(programme, activity, raw, CHANGED_ELSEWHERE, status=409)
    else:
        db().commit()
    return _redisplay(programme, activity, raw, refusal(attempt_state(programme, activity, work)), status=409)


CHANGED_ELSEWHERE = ("This activity was changed in another tab or on another device since you opened it. Your text "
                     "below has not been saved: copy anything you need, then reload the page to see the other version.")


def _redisplay(programme: Programme, activity: Activity, raw: dict, error: str, status: int = 400,
               missing: list | None = None):
    ctx = current_context()
    work = get_work(ctx.person_id, ctx.course_id, activity)
    page = _page(programme, activity, work)
    page["results"] = []
    return render_template("activities/activity.html", questions=[], form_answers=raw, error=error,
                           missing=missing or [],
                           progress=progress(ctx.person_id, ctx.course_id, programme), **page), status


@bp.get("/s/<sid>/coverage")
@launch_required(TUTOR, COURSE_ADMIN)
def coverage():
    ctx = current_context()
    programme = course_programme()
    if programme is None:
        return render_template("activities/no_programme.html", ctx=ctx)
    by_unit = activities_by_unit(programme)
    gaps = sum(1 for acts in by_unit.values() if not acts)
    return render_template("activities/coverage.html", ctx=ctx, programme=programme, by_unit=by_unit, gaps=gaps)


__all__ = ["bp", "CSRFError"]
