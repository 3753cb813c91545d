"""Online delivery pages: schedule (windows and webinars), webinars, questions, the cohort
dashboard and the mentor's view."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import validate_csrf
from sqlalchemy import select
from wtforms.validators import ValidationError

from ..extensions import csrf
from ..activities.views import course_programme
from ..content import find_activity, find_template_ref
from ..content.items import find_item
from ..db import db, utcnow
from ..models import (
    COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR, Attendance, Enrolment, Person, Question, Webinar,
)
from .. import audit, dates
from ..csv_export import csv_response
from ..permissions import course_object, current_context, launch_required, mentee_subs
from ..settings import get_setting
from . import service
from .service import DeliveryError

log = logging.getLogger(__name__)
bp = Blueprint("delivery", __name__)
TUTORS = (TUTOR, COURSE_ADMIN)


def person_zone():
    return dates.current_zone()


def item_link(ref: str | None) -> tuple[str, str | None]:
    """An activity's or write-up's title and page, for people (never its internal reference)."""
    activity, template = find_activity(ref), find_template_ref(ref)
    code = (ref or "").split("/", 1)[0]
    if activity is not None:
        return activity.title, url_for("activities.activity_page", code=code, activity_id=activity.id)
    if template is not None:
        return template.title, url_for("writeups.editor", code=code, template_id=template.id)
    return "a course item", None


def item_kind(ref: str | None) -> str:
    """"Knowledge check", "Write-up"...: what a placed item is, in words."""
    item = find_item(ref)
    return item.kind_label if item is not None else ""


def local_time(dt) -> str:
    return dates.format_datetime(dt, with_zone=True, weekday=True)


@bp.record_once
def _time_helpers(state):
    # Template globals rather than a context processor: they read the request when called, and a
    # context processor would run on every render of every page.
    state.app.jinja_env.globals.update(local_time=local_time, person_zone=person_zone, item_link=item_link,
                                       item_kind=item_kind)


@bp.post("/s/<sid>/timezone")
@csrf.exempt
@launch_required()
def set_timezone():
    """The browser reports its time zone once; times are then shown in it, even without JS."""
    payload = request.get_json(silent=True) or {}
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError:
        return jsonify({"error": "csrf"}), 400
    name = str(payload.get("tz") or "")[:64]
    if not service.valid_zone(name):
        return jsonify({"error": "unknown time zone"}), 400
    person = db().get(Person, current_context().person_id)
    changed = person.time_zone != name
    person.time_zone = name
    db().commit()
    return jsonify({"tz": name, "changed": changed})


# -- schedule: windows and webinars ------------------------------------------------------------

@bp.route("/s/<sid>/schedule", methods=["GET", "POST"])
@launch_required(*TUTORS)
def schedule():
    ctx = current_context()
    programme = course_programme()
    if programme is None:
        return render_template("activities/no_programme.html", ctx=ctx)
    error = None
    if request.method == "POST":
        try:
            if request.form.get("action") == "webinar":
                webinar = service.schedule_webinar(ctx.course_id, ctx.person_id, programme, request.form, person_zone())
                db().commit()
                flash(f"Webinar “{webinar.title}” scheduled.")
            else:
                for module in programme.modules:
                    opens = request.form.get(f"opens-{module.id}", "").strip()
                    if not opens:
                        continue
                    days = request.form.get(f"days-{module.id}", type=int) or module.days
                    service.set_window(ctx.course_id, module, service.parse_local(opens, person_zone()), days)
                db().commit()
                flash("Module windows saved.")
            return redirect(url_for("delivery.schedule"), code=303)
        except DeliveryError as exc:
            db().rollback()
            error = str(exc)
    return render_template("delivery/schedule.html", ctx=ctx, programme=programme,
                           windows=service.windows(ctx.course_id), webinars=service.webinars(ctx.course_id),
                           error=error, form=request.form if error else None), 400 if error else 200


@bp.get("/s/<sid>/webinars")
@launch_required(PARTICIPANT, *TUTORS)
def webinars():
    ctx = current_context()
    rows = service.webinars(ctx.course_id)
    mine = service.attended(ctx.course_id).get(ctx.person_id, set())
    counts = {}
    if ctx.role in TUTORS:
        for webinar_id, in db().execute(select(Attendance.webinar_id).join(Webinar)
                                        .where(Webinar.course_id == ctx.course_id)):
            counts[webinar_id] = counts.get(webinar_id, 0) + 1
    return render_template("delivery/webinars.html", ctx=ctx, webinars=rows, mine=mine, counts=counts,
                           now=utcnow(), programme=course_programme())


@bp.get("/s/<sid>/webinars/<int:webinar_id>.ics")
@launch_required(PARTICIPANT, *TUTORS)
def webinar_ics(webinar_id: int):
    ctx = current_context()
    webinar = course_object(Webinar, webinar_id)
    body = service.ics(webinar, ctx.course_title, url_for("delivery.webinars", _external=True).split("/s/")[0])
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="webinar-{webinar.id}.ics"'})


@bp.post("/s/<sid>/webinars/<int:webinar_id>/attend")
@launch_required(PARTICIPANT)
def confirm_attendance(webinar_id: int):
    webinar = course_object(Webinar, webinar_id)
    if webinar.starts_at > utcnow():
        flash("You can confirm attendance once the webinar has started.")
    else:
        service.record_attendance(webinar, current_context().person_id, "participant")
        db().commit()
        flash(f"Thank you: your attendance at “{webinar.title}” is recorded.")
    return redirect(url_for("delivery.webinars"), code=303)


@bp.route("/s/<sid>/webinars/<int:webinar_id>/attendance", methods=["GET", "POST"])
@launch_required(*TUTORS)
def attendance(webinar_id: int):
    ctx = current_context()
    webinar = course_object(Webinar, webinar_id)
    people = db().scalars(select(Person).join(Enrolment).where(Enrolment.course_id == ctx.course_id,
                                                                Enrolment.role == PARTICIPANT)
                          .order_by(Person.family_name, Person.name)).all()
    if request.method == "POST":
        allowed = {p.id for p in people}
        present = {int(i) for i in request.form.getlist("present") if i.isdigit() and int(i) in allowed}
        service.set_attendance(webinar, present)
        db().commit()
        flash(f"Attendance saved: {len(present)} present.")
        return redirect(url_for("delivery.attendance", webinar_id=webinar.id), code=303)
    present = {a.person_id: a for a in db().scalars(select(Attendance).where(Attendance.webinar_id == webinar.id))}
    return render_template("delivery/attendance.html", ctx=ctx, webinar=webinar, people=people, present=present)


# -- questions -----------------------------------------------------------------------------------

@bp.post("/s/<sid>/questions")
@launch_required(PARTICIPANT)
def ask():
    ctx = current_context()
    item_ref = request.form.get("item_ref", "")
    programme = course_programme()
    code, _, item = item_ref.partition("/")
    if programme is None or code != programme.code or (item not in programme.activities and item not in programme.templates):
        abort(400)
    back = request.form.get("back", "")
    try:
        service.ask(ctx.course_id, ctx.person_id, item_ref, request.form.get("question", ""))
    except DeliveryError as exc:
        flash(f"Not sent: {exc}")
        return redirect(back if back.startswith("/s/") else url_for("delivery.questions"), code=303)
    db().commit()
    flash("Your question has been sent to your tutors. Their answer will appear here.")
    return redirect((back if back.startswith("/s/") else url_for("delivery.questions")) + "#questions", code=303)


@bp.get("/s/<sid>/questions")
@launch_required(PARTICIPANT, *TUTORS)
def questions():
    ctx = current_context()
    if ctx.role == PARTICIPANT:
        rows = db().scalars(select(Question).where(Question.course_id == ctx.course_id,
                                                   Question.person_id == ctx.person_id)
                            .order_by(Question.asked_at.desc())).all()
        return render_template("delivery/questions.html", ctx=ctx, open_rows=[], rows=rows, tutor=False)
    # The launch's course only: a tutor role recorded for another course proves nothing now.
    open_rows = db().scalars(select(Question).where(Question.course_id == ctx.course_id, Question.answer.is_(None))
                             .order_by(Question.asked_at)).all()
    answered = db().scalars(select(Question).where(Question.course_id == ctx.course_id,
                                                   Question.answer.is_not(None))
                            .order_by(Question.answered_at.desc()).limit(50)).all()
    return render_template("delivery/questions.html", ctx=ctx, open_rows=open_rows, rows=answered, tutor=True)


@bp.post("/s/<sid>/questions/<int:question_id>/answer")
@launch_required(*TUTORS)
def answer(question_id: int):
    ctx = current_context()
    question = course_object(Question, question_id)
    try:
        service.answer(question, ctx.person_id, request.form.get("answer", ""))
    except DeliveryError as exc:
        flash(f"Not saved: {exc}")
        return redirect(url_for("delivery.questions"), code=303)
    db().commit()
    flash("Answer sent.")
    return redirect(url_for("delivery.questions"), code=303)


# -- the cohort dashboard and mentors --------------------------------------------------------------

@bp.get("/s/<sid>/dashboard")
@launch_required(*TUTORS)
def dashboard():
    ctx = current_context()
    programme = course_programme()
    if programme is None:
        return render_template("activities/no_programme.html", ctx=ctx)
    rows = service.cohort_progress(ctx.course_id, programme)
    only_behind = request.args.get("behind") == "1"
    shown = [r for r in rows if r.behind] if only_behind else rows
    module_avg = []
    for m in programme.modules:
        total = len(m.activities) * max(1, len(rows))
        done = sum(r.done_by_module.get(m.id, 0) for r in rows)
        module_avg.append((m, round(100 * done / total) if rows else 0))
    return render_template("delivery/dashboard.html", ctx=ctx, programme=programme, rows=shown, all_count=len(rows),
                           behind=sum(r.behind for r in rows), module_avg=module_avg,
                           webinar_count=len(service.webinars(ctx.course_id)), only_behind=only_behind,
                           windows=service.windows(ctx.course_id), window_state=service.window_state)


@bp.get("/s/<sid>/dashboard.csv")
@launch_required(*TUTORS)
def dashboard_csv():
    ctx = current_context()
    programme = course_programme()
    if programme is None:
        abort(404)
    rows = service.cohort_progress(ctx.course_id, programme)
    header, table = service.dashboard_table(programme, rows, len(service.webinars(ctx.course_id)))
    audit.record("export.dashboard_csv", target_type="course", target_id=ctx.course_id,
                 detail={"programme": programme.code, "people": len(rows)})
    db().commit()
    return csv_response(f"progress-{programme.code.lower()}-course-{ctx.course_id}.csv", header, table)


@bp.get("/s/<sid>/mentees")
@launch_required(MENTOR)
def mentees():
    """A mentor or headteacher sees their mentees' progress (role_scope_mentor), nothing else of
    their work unless the provider allows it."""
    ctx = current_context()
    programme = course_programme()
    subs = mentee_subs()
    ids = list(db().scalars(select(Person.id).where(Person.platform_id == ctx.platform_id,
                                                    Person.sub.in_(sorted(subs)))))
    rows = service.cohort_progress(ctx.course_id, programme, person_ids=ids) if programme else []
    show_feedback = get_setting("MENTORS_SEE_FEEDBACK")
    feedback = service.released_feedback(ctx.course_id, ids) if show_feedback else {}
    submitted = service.latest_submissions(ctx.course_id, ids) if get_setting("MENTORS_SEE_SUBMITTED_WORK") else {}
    return render_template("delivery/mentees.html", ctx=ctx, programme=programme, rows=rows, feedback=feedback,
                           submitted=submitted, listed=len(subs), show_feedback=show_feedback,
                           webinar_count=len(service.webinars(ctx.course_id)))
