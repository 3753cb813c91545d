"""The audit log for provider admins: every entry, filtered by the person it concerns, the actor,
the action and a date range, paged, and exported as CSV (the export is itself an entry). There is
no way to change or delete an entry here: the ORM refuses both (audit.py)."""
from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta, timezone
from typing import Iterable, Optional

from flask import render_template, request
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, or_, select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional as Blank

from .. import audit
from ..csv_export import csv_response
from ..db import db
from ..models import Person
from ..paging import clamp_page, page_count
from ..security_models import AuditEvent
from .access import admin_required
from .blueprint import bp

PAGE_SIZE = 50
# How many people a name or email search may match before the filter asks for more letters.
PERSON_MATCH_LIMIT = 200
PERSON_ACTOR = re.compile(r"^person:(\d+)")


class AuditFilterForm(FlaskForm):
    """The filters, read from the query string (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    person = StringField("Person (name or email)", validators=[Blank(), Length(max=200)])
    actor = StringField("Done by", validators=[Blank(), Length(max=200)],
                        description="An admin's username, “person:12”, “cli” or “system”.")
    action = SelectField("Action", validators=[Blank()], validate_choice=True)
    date_from = DateField("From (date)", validators=[Blank()])
    date_to = DateField("To (date, included)", validators=[Blank()])


def _filter_form() -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    actions = db().scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    form.action.choices = [("", "Any action")] + [(a, a) for a in actions]
    return form


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _people_matching(text: str) -> list[int]:
    pattern = _like(text)
    columns = (Person.name, Person.given_name, Person.family_name, Person.email,
               Person.given_name + " " + Person.family_name)
    return list(db().scalars(select(Person.id).where(or_(*(func.lower(c).like(pattern, escape="\\")
                                                           for c in columns))).limit(PERSON_MATCH_LIMIT)))


def _filtered(form: AuditFilterForm) -> Select:
    """Entries matching the (validated) filters, newest first."""
    query = select(AuditEvent)
    if form.person.data and form.person.data.strip():
        query = query.where(AuditEvent.subject_person_id.in_(_people_matching(form.person.data)))
    if form.actor.data and form.actor.data.strip():
        query = query.where(func.lower(AuditEvent.actor).like(_like(form.actor.data), escape="\\"))
    if form.action.data:
        query = query.where(AuditEvent.action == form.action.data)
    if form.date_from.data:
        query = query.where(AuditEvent.at >= datetime.combine(form.date_from.data, time(), timezone.utc))
    if form.date_to.data:
        end = datetime.combine(form.date_to.data, time(), timezone.utc) + timedelta(days=1)
        query = query.where(AuditEvent.at < end)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def _names(entries: Iterable[AuditEvent]) -> dict[int, str]:
    """Display names of the people the entries concern or were done by (erased people have none)."""
    ids = set()
    for entry in entries:
        if entry.subject_person_id:
            ids.add(entry.subject_person_id)
        match = PERSON_ACTOR.match(entry.actor)
        if match:
            ids.add(int(match.group(1)))
    if not ids:
        return {}
    return {p.id: p.display_name for p in db().scalars(select(Person).where(Person.id.in_(ids)))}


def actor_label(actor: str, names: dict[int, str]) -> str:
    match = PERSON_ACTOR.match(actor)
    if match and int(match.group(1)) in names:
        return f"{names[int(match.group(1))]} — {actor}"
    return actor


def subject_label(person_id: Optional[int], names: dict[int, str]) -> str:
    if person_id is None:
        return ""
    return names.get(person_id, f"Person {person_id} (no longer held)")


def _filters_used(form: AuditFilterForm) -> dict:
    return {name: str(field.data) for name, field in form._fields.items() if field.data}


@bp.get("/audit")
@admin_required
def audit_log():
    form = _filter_form()
    if request.args and not form.validate():
        return render_template("admin/audit_log.html", form=form, entries=[], names={}, page=1, pages=1,
                               total=0, actor_label=actor_label, subject_label=subject_label), 400
    query = _filtered(form)
    total = db().scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = page_count(total, PAGE_SIZE)
    page = clamp_page(request.args.get("page"), pages)
    entries = db().scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("admin/audit_log.html", form=form, entries=entries, names=_names(entries),
                           page=page, pages=pages, total=total, args=args,
                           actor_label=actor_label, subject_label=subject_label)


@bp.get("/audit.csv")
@admin_required
def audit_csv():
    form = _filter_form()
    if not form.validate():
        return render_template("admin/audit_log.html", form=form, entries=[], names={}, page=1, pages=1,
                               total=0, actor_label=actor_label, subject_label=subject_label), 400
    entries = db().scalars(_filtered(form)).all()
    audit.record("audit.export_csv", target_type="audit_event", detail={
        "filters": _filters_used(form), "entries": len(entries)})
    db().commit()
    names = _names(entries)
    header = ["When (UTC)", "Done by", "Action", "Person concerned", "Person ID", "Object", "Object ID",
              "Details", "Address"]
    rows = ([entry.at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"), actor_label(entry.actor, names),
             entry.action, subject_label(entry.subject_person_id, names), entry.subject_person_id,
             entry.target_type, entry.target_id, json.dumps(entry.detail, ensure_ascii=False, default=str),
             entry.ip] for entry in entries)
    return csv_response(f"audit-log-{datetime.now(timezone.utc):%Y%m%d-%H%M}.csv", header, rows)
