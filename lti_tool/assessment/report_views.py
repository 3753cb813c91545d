"""Engagement (participant, tutor, mentor), attendance at sessions, the course's DfE schedule and
the outcomes report (page, CSV, JSON) of the case-study assessment."""
from __future__ import annotations

import json
import re
from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..csv_export import csv_response
from ..db import db, utcnow
from ..models import COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR, Person, Webinar
from ..permissions import course_participant, current_context, launch_required, mentee_subs
from . import declarations as dfe
from . import engagement as eng
from . import service
from .models import AssessmentAttendance, AssessmentParticipant
from .pack import AssessmentConfig
from .views import RACE, TUTORS, _config_or_404, bp

_DFE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


# -- engagement ----------------------------------------------------------------------------------

@bp.get("/s/<sid>/assessment/<code>/engagement")
@launch_required()
def engagement(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    if ctx.role == PARTICIPANT:
        me = eng.compute(ctx.course_id, cfg, [db().get(Person, ctx.person_id)])[0]
        return render_template("assessment/engagement_person.html", ctx=ctx, cfg=cfg, pe=me, own=True,
                               report=dfe.reports(cfg, ctx.course_id, [me])[0], programme=service.programme_of(cfg))
    if ctx.role == MENTOR:
        people = eng.for_mentor(ctx.course_id, cfg, sorted(mentee_subs()))  # their own mentees only
    else:
        people = eng.compute(ctx.course_id, cfg)
    attendance = {}
    if ctx.role in TUTORS:
        attendance = dict(db().execute(
            select(AssessmentAttendance.session_id, func.count()).where(AssessmentAttendance.course_id == ctx.course_id)
            .group_by(AssessmentAttendance.session_id)).all())
    return render_template("assessment/engagement.html", ctx=ctx, cfg=cfg, reports=dfe.reports(cfg, ctx.course_id, people),
                           counted_writeups=eng.counted_writeups(cfg), required_total=eng.required_total(cfg),
                           people=people, attendance=attendance, programme=service.programme_of(cfg),
                           mentor=ctx.role == MENTOR, webinars_scheduled=db().scalar(
                               select(func.count()).select_from(Webinar).where(Webinar.course_id == ctx.course_id)))


@bp.get("/s/<sid>/assessment/<code>/engagement/<int:person_id>")
@launch_required(TUTOR, COURSE_ADMIN, MENTOR)
def engagement_person(code: str, person_id: int, error: str | None = None, status: int = 200):
    ctx = current_context()
    cfg = _config_or_404(code)
    person = course_participant(person_id)  # mentors: their own mentees only
    pe = eng.compute(ctx.course_id, cfg, [person])[0]
    return render_template("assessment/engagement_person.html", ctx=ctx, cfg=cfg, pe=pe, own=False, error=error,
                           report=dfe.reports(cfg, ctx.course_id, [pe])[0],
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

def _report(cfg: AssessmentConfig):
    ctx = current_context()
    sched = dfe.course_schedule(ctx.course_id, cfg)
    return sched, dfe.reports(cfg, ctx.course_id, eng.compute(ctx.course_id, cfg))


@bp.get("/s/<sid>/assessment/<code>/outcomes")
@launch_required(*TUTORS)
def outcomes(code: str, error: str | None = None, status: int = 200):
    ctx = current_context()
    cfg = _config_or_404(code)
    sched, found = _report(cfg)
    return render_template("assessment/outcomes.html", ctx=ctx, cfg=cfg, columns=dfe.report_columns(cfg),
                           rows=dfe.report_rows(cfg, sched, found), reports=found, schedule=sched,
                           required_total=eng.required_total(cfg),
                           choices=dfe.schedule_choices(cfg), labels=dfe.DECLARATION_LABELS, error=error,
                           programme=service.programme_of(cfg)), status


@bp.post("/s/<sid>/assessment/<code>/outcomes/schedule")
@launch_required(*TUTORS)
def set_schedule(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    key = request.form.get("schedule", "")
    try:
        chosen = dfe.set_course_schedule(ctx.course_id, cfg, key, ctx.person_id)
    except ValueError as exc:
        db().rollback()
        return outcomes(code, error=str(exc), status=400)
    service.record(ctx.course_id, ctx.person_id, "DfE schedule chosen", schedule=key)
    try:
        db().commit()
    except IntegrityError:
        db().rollback()
        return outcomes(code, error=RACE, status=409)
    flash(f"DfE schedule saved: {chosen.label}.")
    return redirect(url_for("assessment.outcomes", code=code), code=303)


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
    columns = dfe.report_columns(cfg)
    sched, found = _report(cfg)
    rows = dfe.report_rows(cfg, sched, found)
    _audit_export("csv", len(rows))
    return csv_response(_filename(cfg, "csv"), columns, ([row[c] for c in columns] for row in rows))


@bp.get("/s/<sid>/assessment/<code>/outcomes.json")
@launch_required(*TUTORS)
def outcomes_json(code: str):
    ctx = current_context()
    cfg = _config_or_404(code)
    sched, found = _report(cfg)
    data = dfe.to_json(cfg, ctx.course_title, sched, found)
    _audit_export("json", len(found))
    return Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{_filename(cfg, "json")}"', "Cache-Control": "private, no-store"})
