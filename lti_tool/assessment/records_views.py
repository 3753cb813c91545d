"""Tutors' and course admins' pages for special consideration, malpractice and appeals: the
course's register of records, recording one against an attempt (from the marking page), and
deciding it (upheld or not, with reasons)."""
from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from ..db import db
from ..grades.delivery import kick
from ..permissions import course_object, course_participant, current_context, launch_required
from . import records, service
from .models import OPEN, RECORD_KINDS, AssessmentAttempt, AssessmentRecord
from .pack import AssessmentConfig
from .service import AssessmentError
from .views import RACE, TUTORS, _config_or_404, _window_or_404, bp

log = logging.getLogger(__name__)


def _record_or_404(cfg: AssessmentConfig, record_id: int) -> AssessmentRecord:
    rec = course_object(AssessmentRecord, record_id)
    attempt = course_object(AssessmentAttempt, rec.attempt_id)  # someone this launch reaches
    if attempt.window.item_ref != cfg.ref:
        abort(404)
    return rec


@bp.get("/s/<sid>/assessment/<code>/records")
@launch_required(*TUTORS)
def records_list(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    found = [r for r in records.for_course(ctx.course_id) if r.attempt.window.item_ref == cfg.ref]
    return render_template("assessment/records.html", ctx=ctx, cfg=cfg, records=found, kinds=records.KIND_LABELS,
                           effects=records.EFFECT_LABELS)


@bp.post("/s/<sid>/assessment/<code>/marking/windows/<int:number>/<int:person_id>/records")
@launch_required(*TUTORS)
def record_new(code: str, number: int, person_id: int):
    from .marking_views import mark  # noqa: PLC0415 (the marking page shows the form and its errors)

    ctx = current_context()
    cfg = _config_or_404(code)
    window = _window_or_404(cfg, number)
    person = course_participant(person_id)
    try:
        # Special consideration may concern a window the participant could not sit at all.
        attempt = service.get_attempt(window, person.id, create=True, all_windows=service.windows(ctx.course_id, cfg),
                                      cfg=cfg)
        rec = records.raise_record(attempt, request.form.get("kind", ""), request.form.get("summary", ""),
                                   ctx.person_id)
        db().commit()
    except AssessmentError as exc:
        db().rollback()
        return mark(code, number, person_id, error=str(exc), status=400)
    except IntegrityError:
        db().rollback()
        return mark(code, number, person_id, error=RACE, status=409)
    flash(f"{records.KIND_LABELS[rec.kind]} recorded. Decide it when the evidence is in.")
    return redirect(url_for("assessment.record_detail", code=code, record_id=rec.id), code=303)


@bp.route("/s/<sid>/assessment/<code>/records/<int:record_id>", methods=["GET", "POST"])
@launch_required(*TUTORS)
def record_detail(code: str, record_id: int):
    ctx = current_context()
    cfg = _config_or_404(code)
    rec = _record_or_404(cfg, record_id)
    error, status = None, 200
    if request.method == "POST":
        decision = request.form.get("decision", "")
        try:
            if decision not in ("upheld", "not-upheld"):
                raise AssessmentError("Choose whether the case is upheld or not upheld.")
            effect = records.decide(ctx, cfg, rec, decision == "upheld", request.form.get("reason", ""))
            db().commit()
        except AssessmentError as exc:
            db().rollback()
            error, status = str(exc), 400
        except IntegrityError:
            db().rollback()
            error, status = RACE, 409
        else:
            kick(current_app._get_current_object())
            log.info("assessment record %s decided %s (%s) by %s", rec.id, decision, effect, ctx.person_id)
            flash(f"Decision recorded: {decision.replace('-', ' ')}. {records.EFFECT_LABELS[effect]}.")
            return redirect(url_for("assessment.record_detail", code=code, record_id=rec.id), code=303)
    attempt = rec.attempt
    return render_template("assessment/record.html", ctx=ctx, cfg=cfg, rec=rec, attempt=attempt,
                           kinds=records.KIND_LABELS, effects=records.EFFECT_LABELS, open=rec.status == OPEN,
                           error=error, form=request.form if request.method == "POST" else {}), status


__all__ = ["RECORD_KINDS"]
