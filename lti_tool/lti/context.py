"""Turn a validated launch into plain objects and stored rows; nothing past here reads JWT claims."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..db import db, utcnow
from ..models import (
    COURSE_ADMIN,
    PARTICIPANT,
    TUTOR,
    Course,
    Deployment,
    Enrolment,
    LaunchSession,
    Person,
    Placement,
    Platform,
    course_title,
    person_name,
)
from .errors import LaunchError
from .roles import map_role

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

@dataclass(frozen=True)
class LaunchContext:
    """Who launched, from where, as what: what every page past the LTI edge works with."""

    session_id: str
    platform_id: int
    platform_name: str
    course_id: int
    course_title: str
    person_id: int
    person_name: str
    role: str
    message_type: str
    deployment_pk: int = 0
    placement_id: Optional[int] = None
    item_ref: Optional[str] = None
    services: dict[str, Any] = field(default_factory=dict)
    time_zone: Optional[str] = None
    programme_code: Optional[str] = None  # of the programme the course follows, if it has one yet

    @property
    def is_tutor(self) -> bool:
        return self.role in (TUTOR, COURSE_ADMIN)

    @property
    def is_participant(self) -> bool:
        return self.role == PARTICIPANT

def context_from_row(row) -> LaunchContext:
    """A launch context from a launch session's columns joined with its course, platform, person
    and link (auth's per-request query, or the rows a launch has just written)."""
    return LaunchContext(
        session_id=row["id"], platform_id=row["platform_id"], platform_name=row["platform_name"],
        course_id=row["course_id"], course_title=course_title(row["title"], row["label"]),
        person_id=row["person_id"],
        person_name=person_name(row["name"], row["given_name"], row["family_name"], row["email"], row["sub"]),
        role=row["role"], message_type=row["message_type"], deployment_pk=row["deployment_id"],
        placement_id=row["placement_id"], item_ref=row["item_ref"], services=row["services"] or {},
        time_zone=row["time_zone"], programme_code=row["programme_code"])


def _clip(value: Any, limit: int) -> Optional[str]:
    if value is None:
        return None
    return str(value)[:limit] or None


def _services(claims: dict) -> dict[str, Any]:
    """The parts of the launch later pages need, as plain data."""
    out: dict[str, Any] = {}
    ags = claims.get(AGS_CLAIM)
    if isinstance(ags, dict):
        out["ags"] = {k: ags.get(k) for k in ("scope", "lineitems", "lineitem") if ags.get(k)}
    nrps = claims.get(NRPS_CLAIM)
    if isinstance(nrps, dict) and nrps.get("context_memberships_url"):
        out["nrps_url"] = nrps["context_memberships_url"]
    if isinstance(claims.get(DL_CLAIM), dict):
        out["deep_linking"] = claims[DL_CLAIM]
    custom = claims.get(CLAIM + "custom")
    if isinstance(custom, dict):
        out["custom"] = {str(k)[:100]: str(v)[:1000] for k, v in list(custom.items())[:50]}
    presentation = claims.get(CLAIM + "launch_presentation")
    if isinstance(presentation, dict):
        out["presentation"] = {k: presentation.get(k) for k in ("return_url", "document_target", "locale")
                               if presentation.get(k)}
    mentees = claims.get(CLAIM + "role_scope_mentor")
    if isinstance(mentees, list):
        out["mentees"] = [str(m) for m in mentees][:500]
    platform = claims.get(CLAIM + "tool_platform")
    if isinstance(platform, dict):
        out["platform_product"] = _clip(platform.get("product_family_code"), 100)
    return out


# The statements below are built once per shape and reused: building SQLAlchemy expressions
# costs more CPU than running them, and this runs on every launch.

@lru_cache(maxsize=None)
def _find_stmt(table, key: tuple[str, ...], columns: tuple[str, ...]):
    return select(*(table.c[name] for name in columns)).where(
        *(table.c[name] == bindparam("key_" + name) for name in key))


@lru_cache(maxsize=None)
def _update_stmt(table, key: tuple[str, ...]):
    return table.update().where(*(table.c[name] == bindparam("key_" + name) for name in key))


@lru_cache(maxsize=None)
def _upsert_stmt(dialect: str, table, key: tuple[str, ...], values: tuple[str, ...], keep: tuple[str, ...],
                 returning: tuple[str, ...]):
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    updates = {name: func.coalesce(stmt.excluded[name], table.c[name]) if name in keep else stmt.excluded[name]
               for name in values}
    stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=updates)
    return stmt.returning(*(table.c[name] for name in returning)) if returning else stmt


def _upsert(table, key: dict, values: dict, *, keep: tuple[str, ...] = (), insert_only: Optional[dict] = None,
            returning: tuple[str, ...] = ()) -> dict:
    """INSERT ... ON CONFLICT (key) DO UPDATE ... RETURNING: one statement on SQLite and PostgreSQL,
    and two first launches into a new course at once both succeed (the second updates the row the
    first one made). Columns in `keep` keep their stored value where the new one is NULL (the
    platform left that claim out of this launch)."""
    stmt = _upsert_stmt(db().bind.dialect.name, table, tuple(key), tuple(values), keep, returning)
    result = db().connection().execute(stmt, {**key, **values, **(insert_only or {})})
    return dict(result.one()._mapping) if returning else {}


_UNREAD = object()


def _sync(table, key: dict, values: dict, *, keep: tuple[str, ...] = (), insert_only: Optional[dict] = None,
          returning: tuple[str, ...] = (), stored=_UNREAD) -> dict:
    """Like _upsert, but writes only what changed: most launches find their course, link and
    enrolment as they were, and a read takes no row lock (a webinar's start sends hundreds of
    launches into one course at once). `stored`: the row as already read (None: there is none)."""
    key_params = {"key_" + name: value for name, value in key.items()}
    if stored is _UNREAD:
        columns = tuple(dict.fromkeys(returning + tuple(values)))
        row = db().connection().execute(_find_stmt(table, tuple(key), columns), key_params).first()
        stored = row._mapping if row is not None else None
    if stored is None:
        return _upsert(table, key, values, keep=keep, insert_only=insert_only, returning=returning)
    changed = {name: value for name, value in values.items()
               if stored[name] != value and not (value is None and name in keep)}
    if changed:
        db().connection().execute(_update_stmt(table, tuple(key)), {**key_params, **changed})
    return {name: changed.get(name, stored[name]) for name in returning}


def _course_values(claims: dict) -> tuple[dict, dict]:
    context = claims.get(CLAIM + "context")
    if not isinstance(context, dict) or not context.get("id"):
        raise LaunchError(
            "The launch has no course (context claim).",
            title="The tool must be launched from a course",
            fix="Add the tool to a course and launch it from there.",
        )
    # A course follows one programme: named by a custom parameter, or the first item placed.
    custom = claims.get(CLAIM + "custom") or {}
    named = custom.get("npq_programme") if isinstance(custom, dict) else None
    programme = _clip(named, 20).upper() if named and not str(named).startswith("$") else None
    return ({"context_id": _clip(str(context["id"]), 255)},
            {"title": _clip(context.get("title"), 500), "label": _clip(context.get("label"), 200),
             "programme_code": programme})


def _placement_values(claims: dict) -> Optional[tuple[dict, dict]]:
    link = claims.get(CLAIM + "resource_link")
    if not isinstance(link, dict) or not link.get("id"):
        return None
    # The custom parameter the tool wrote at deep linking says which item this link opens;
    # it survives course copies, which give the link a new ID.
    custom = claims.get(CLAIM + "custom") or {}
    item = custom.get("npq_item") if isinstance(custom, dict) else None
    ags = claims.get(AGS_CLAIM)
    return ({"resource_link_id": _clip(str(link["id"]), 255)},
            {"title": _clip(link.get("title"), 500),
             "item_ref": _clip(item, 200) if item and not str(item).startswith("$") else None,
             "line_item_url": _clip(ags.get("lineitem"), 1000) if isinstance(ags, dict) else None})


_PERSON_COLUMNS = ("id", "sub", "name", "given_name", "family_name", "email", "locale", "time_zone", "last_launch_at")
# What the launch keeps of the person from their claims, and returns to the page.
_PERSON_KEPT = ("name", "given_name", "family_name", "email", "locale")
_PERSON_RETURNED = ("id", "sub", "name", "given_name", "family_name", "email", "time_zone")
# last_launch_at is written at most this often by launches (retention counts in days; each launch's
# own time is in its launch_session row, which the subject-access export reads as well).
LAST_LAUNCH_RESOLUTION = timedelta(hours=1)


def _known_stmt(with_person: bool):
    """The course, this person's enrolment in it and the launched link, as stored: one round trip
    where three _sync reads took three (almost every launch finds all three). `with_person`: the
    person too, found by their platform and ID (the row is None for someone never seen before)."""
    person, course = Person.__table__, Course.__table__
    enrolment, placement = Enrolment.__table__, Placement.__table__
    person_id = person.c.id if with_person else bindparam("person_id")
    columns = [*(c.label("c_" + c.name) for c in (course.c.id, course.c.title, course.c.label,
                                                    course.c.programme_code)),
               *(c.label("e_" + c.name) for c in (enrolment.c.person_id, enrolment.c.role,
                                                    enrolment.c.lti_roles, enrolment.c.source)),
               *(c.label("p_" + c.name) for c in (placement.c.id, placement.c.title, placement.c.item_ref,
                                                    placement.c.line_item_url))]
    course_here = (course.c.platform_id == bindparam("platform_id")) & (course.c.context_id == bindparam("context_id"))
    if with_person:
        stmt = (select(*(person.c[name].label("u_" + name) for name in _PERSON_COLUMNS), *columns)
                .select_from(person).outerjoin(course, course_here)
                .where(person.c.platform_id == bindparam("platform_id"), person.c.sub == bindparam("sub")))
    else:
        stmt = select(*columns).select_from(course).where(course_here)
    return (stmt.outerjoin(enrolment, (enrolment.c.course_id == course.c.id) & (enrolment.c.person_id == person_id))
            .outerjoin(placement, (placement.c.course_id == course.c.id)
                       & (placement.c.resource_link_id == bindparam("link_id"))))


_KNOWN, _KNOWN_WITH_PERSON = _known_stmt(False), _known_stmt(True)


@lru_cache(maxsize=None)
def _names(keys: tuple[str, ...], prefix: str) -> tuple[tuple[str, str], ...]:
    return tuple((key, key[len(prefix):]) for key in keys if key.startswith(prefix))


def _part(row, prefix: str, present: str) -> Optional[dict]:
    """The columns of one table (labelled with `prefix`) from a joined row; None where the outer
    join found no row (its `present` column is NULL)."""
    if row[prefix + present] is None:
        return None
    return {short: row[key] for key, short in _names(tuple(row.keys()), prefix)}


_INSERT_SESSION = LaunchSession.__table__.insert()
# The custom parameter the tool's Canvas configuration fills with $Person.address.timezone.
TIME_ZONE_PARAMETER = "person_time_zone"


def custom_value(claims: dict, name: str) -> Optional[str]:
    """A custom parameter's value, or None where the platform did not substitute its variable
    (Canvas then sends the variable's name, "$Person.address.timezone")."""
    custom = claims.get(CLAIM + "custom")
    value = custom.get(name) if isinstance(custom, dict) else None
    return str(value)[:200] if value and not str(value).startswith("$") else None


def _adopt_platform_time_zone(person: dict, claims: dict) -> None:
    """The person's time zone from their VLE profile until their browser reports one (which wins:
    it is where they are now)."""
    zone = custom_value(claims, TIME_ZONE_PARAMETER)
    if person["time_zone"] or not zone:
        return
    try:
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return
    table = Person.__table__
    db().connection().execute(table.update().where(table.c.id == person["id"], table.c.time_zone.is_(None))
                              .values(time_zone=zone[:64]))
    person["time_zone"] = zone[:64]


def open_session(platform: Platform, deployment: Deployment, claims: dict, *,
                 cookieless: bool = False, frame_origins: Optional[list[str]] = None,
                 secret_hash: Optional[str] = None, storage: Optional[dict] = None) -> LaunchContext:
    """Record who launched where, and open a launch session for them: a handful of Core
    statements (this runs on every launch). A cookieless session (bound through the platform's
    storage) is opened by its secret only (secret_hash: its SHA-256), for COOKIELESS_SESSION_HOURS;
    `storage` (the platform's storage frame and origin) lets its pages find the secret again."""
    lti_roles = [r for r in claims.get(CLAIM + "roles", []) if isinstance(r, str)][:50]
    role = map_role(lti_roles)
    if role is None:
        raise LaunchError(
            f"None of the roles {lti_roles or '(none)'} gives access to the tool.",
            title="Your role in this course does not give access",
            fix="The tool is for participants (learners), tutors (instructors, teaching assistants, "
                "content developers), mentors and course administrators.",
            status=403,
        )
    course_key, course_values = _course_values(claims)
    placement_values = _placement_values(claims)
    person_t, course_t, placement_t = Person.__table__, Course.__table__, Placement.__table__
    now = utcnow()
    person_key = {"platform_id": platform.id, "sub": _clip(str(claims["sub"]), 255)}
    link_id = placement_values[0]["resource_link_id"] if placement_values else None
    known = db().connection().execute(_KNOWN_WITH_PERSON, {**person_key, **course_key, "link_id": link_id}).first()
    known = known._mapping if known is not None else None
    stored_person = _part(known, "u_", "id") if known is not None else None
    # Names and email are kept from the latest claims (the platform owns them).
    person_values = {"name": _clip(claims.get("name"), 300), "given_name": _clip(claims.get("given_name"), 200),
                     "family_name": _clip(claims.get("family_name"), 200), "email": _clip(claims.get("email"), 320),
                     "locale": _clip(claims.get("locale"), 35)}
    if stored_person is None or not stored_person["last_launch_at"] \
            or now - stored_person["last_launch_at"] >= LAST_LAUNCH_RESOLUTION:
        person_values["last_launch_at"] = now
    person = _sync(person_t, person_key, person_values, keep=_PERSON_KEPT, returning=_PERSON_RETURNED,
                   stored=stored_person)
    _adopt_platform_time_zone(person, claims)
    if stored_person is None:  # someone new: their enrolment cannot be stored, the course and link may be
        known = db().connection().execute(_KNOWN, {
            "person_id": person["id"], "platform_id": platform.id, **course_key, "link_id": link_id}).first()
        known = known._mapping if known is not None else None
    course = _sync(course_t, {"platform_id": platform.id, **course_key}, course_values,
                   keep=("title", "label", "programme_code"),
                   insert_only={"deployment_id": deployment.id, "created_at": now},
                   returning=("id", "title", "label", "programme_code"),
                   stored=_part(known, "c_", "id") if known else None)
    _sync(Enrolment.__table__, {"person_id": person["id"], "course_id": course["id"]},
          {"role": role, "lti_roles": lti_roles, "source": "launch"}, insert_only={"updated_at": now},
          stored=_part(known, "e_", "person_id") if known else None)
    placement = None
    if placement_values is not None:
        link_key, link_values = placement_values
        placement = _sync(placement_t, {"course_id": course["id"], **link_key}, link_values,
                          keep=("title", "item_ref", "line_item_url"), insert_only={"created_at": now},
                          returning=("id", "item_ref"), stored=_part(known, "p_", "id") if known else None)
        if course["programme_code"] is None and placement["item_ref"]:
            course["programme_code"] = placement["item_ref"].split("/", 1)[0][:20]
            db().connection().execute(course_t.update().where(
                course_t.c.id == course["id"], course_t.c.programme_code.is_(None)
            ).values(programme_code=course["programme_code"]))
    services = {**_services(claims), **({"frame_origins": frame_origins} if frame_origins is not None else {}),
                **({"storage": storage} if cookieless and storage else {})}
    session_id = secrets.token_urlsafe(24)
    hours = current_app.config["COOKIELESS_SESSION_HOURS" if cookieless else "LAUNCH_SESSION_HOURS"]
    db().connection().execute(_INSERT_SESSION, dict(
        id=session_id, person_id=person["id"], course_id=course["id"], deployment_id=deployment.id,
        placement_id=placement["id"] if placement else None, role=role,
        message_type=claims.get(CLAIM + "message_type"), services=services, created_at=now,
        expires_at=now + timedelta(hours=hours), cookieless=cookieless,
        secret_hash=secret_hash if cookieless else None, last_seen_at=now))
    db().commit()
    return context_from_row({
        **person, **{k: course[k] for k in ("title", "label", "programme_code")},
        "id": session_id, "platform_id": platform.id, "platform_name": platform.name, "course_id": course["id"],
        "person_id": person["id"], "role": role, "message_type": claims.get(CLAIM + "message_type"),
        "deployment_id": deployment.id, "placement_id": placement["id"] if placement else None,
        "item_ref": placement["item_ref"] if placement else None, "services": services})
