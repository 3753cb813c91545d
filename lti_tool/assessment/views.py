"""The case-study assessment in the VLE: the blueprint, how its placements open, and the
participant's response page (case, three questions, word cap, autosave, deadline). Tutors' pages:
marking_views.py; engagement and the outcomes report: report_views.py; special consideration,
malpractice and appeals: records_views.py."""
from __future__ import annotations

import logging

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import csrf
from ..auth import autosave_payload
from ..content.items import CatalogueItem, register_item_source
from ..content.model import Programme
from ..core.views import register_item_resolver
from .. import dates
from ..wording import Problem
from ..db import db, utcnow
from ..privacy import pupil_check
from ..grades.delivery import kick
from ..models import COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR, Person
from ..permissions import current_context, launch_required, public_static, require_item, valid_id
from . import engagement as eng
from . import responses, service
from .models import AssessmentAttempt, AssessmentWindow  # importing the models registers the assessment tables
from .pack import AssessmentConfig, words
from .service import AssessmentError, Conflict

log = logging.getLogger(__name__)
bp = Blueprint("assessment", __name__, static_folder="static", static_url_path="/assessment-static")
bp.record_once(public_static)  # the assessment's own static files: open to anyone
TUTORS = (TUTOR, COURSE_ADMIN)
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
    blocked = responses.can_edit(window, attempt, now) if window else "No window yet."
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
        words=words, total_words=responses.total_words(cfg, answers), released=released, error=error,
        problems=problems or [], pupil_flags=pupil_flags or [],
        problem_at={p.field: p for p in problems or [] if getattr(p, "field", "")},
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
    blocked = responses.can_edit(window, attempt, now)
    if blocked:
        return jsonify({"error": blocked}), 400
    try:
        answers = responses.clean_answers(cfg, payload.get("answers"))
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
    blocked = responses.can_edit(window, attempt, now)
    if blocked:
        return _repeated_submit(cfg, attempt, raw) or _render_response(cfg, status=409, error=blocked)
    try:
        answers = responses.clean_answers(cfg, raw)
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
    problems = responses.submission_problems(cfg, answers)
    if not request.form.get("confirm"):
        problems.append(Problem("Tick the declaration that the response is your own work.", "confirm"))
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
        answers = responses.clean_answers(cfg, raw)
    except AssessmentError:
        return None
    if not responses.already_submitted(attempt, answers):
        return None
    flash(f"Already submitted on {dates.format_deadline(attempt.submitted_at)}. Your tutor will mark it; you will see the "
          "outcome here.")
    return redirect(url_for("assessment.response", code=cfg.programme), code=303)


# The tutors' pages, engagement and the outcomes report, and the records register their routes on bp.
from . import marking_views, records_views, report_views  # noqa: E402,F401

__all__ = ["bp"]

