"""Turn a validated launch into plain objects and stored rows; nothing past here reads JWT claims."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Optional

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..db import db, utcnow
from ..models import (
    COURSE_ADMIN,
    MENTOR,
    PARTICIPANT,
    TUTOR,
    Course,
    Deployment,
    Enrolment,
    LaunchSession,
    Person,
    Placement,
    Platform,
)
from .errors import LaunchError

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

# Role precedence: the strongest role a person holds in the course wins.
ROLE_ORDER = (COURSE_ADMIN, TUTOR, MENTOR, PARTICIPANT)
_ROLE_SUFFIXES = {
    "Administrator": COURSE_ADMIN,
    "Instructor": TUTOR,
    "TeachingAssistant": TUTOR,
    "ContentDeveloper": TUTOR,
    "Mentor": MENTOR,
    "Learner": PARTICIPANT,
}
_CONTEXT_ROLE_PREFIXES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/",  # sub-roles: .../Instructor#TeachingAssistant
)
_ADMIN_ROLES = {
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
}


def map_role(lti_roles: list[str]) -> Optional[str]:
    """The tool role for a set of LTI roles: Learner -> participant; Instructor, TA, content
    developer -> tutor; Administrator -> course admin; Mentor -> mentor. None if none apply."""
    found = set()
    for uri in lti_roles:
        if uri in _ADMIN_ROLES:
            found.add(COURSE_ADMIN)
            continue
        name = uri
        for prefix in _CONTEXT_ROLE_PREFIXES:
            if uri.startswith(prefix):
                name = uri[len(prefix):]
                break
        else:
            if "/" in uri or ":" in uri:
                continue  # another vocabulary (institution roles other than admin, ...)
        # "Instructor#TeachingAssistant" -> "TeachingAssistant"
        name = name.split("#")[-1]
        if name in _ROLE_SUFFIXES:
            found.add(_ROLE_SUFFIXES[name])
    for role in ROLE_ORDER:
        if role in found:
            return role
    return None


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

    @property
    def is_tutor(self) -> bool:
        return self.role in (TUTOR, COURSE_ADMIN)

    @property
    def is_participant(self) -> bool:
        return self.role == PARTICIPANT

    @classmethod
    def from_session(cls, row: LaunchSession) -> "LaunchContext":
        return cls(
            session_id=row.id,
            platform_id=row.course.platform_id,
            platform_name=row.course.platform.name,
            course_id=row.course_id,
            course_title=row.course.display_title,
            person_id=row.person_id,
            person_name=row.person.display_name,
            role=row.role,
            message_type=row.message_type,
            deployment_pk=row.deployment_id,
            placement_id=row.placement_id,
            item_ref=row.placement.item_ref if row.placement else None,
            services=row.services or {},
            time_zone=row.person.time_zone,
        )


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


def _get_or_create(model, defaults: Optional[dict] = None, **key):
    """The row with this unique key, created if missing. Two first launches into a new course at the
    same moment both try to create it: INSERT ... ON CONFLICT DO NOTHING lets the second one read
    the first one's row instead of failing."""
    query = select(model).filter_by(**key)
    row = db().scalar(query)
    if row is not None:
        return row
    insert = pg_insert if db().bind.dialect.name == "postgresql" else sqlite_insert
    db().execute(insert(model).values(**key, **(defaults or {})).on_conflict_do_nothing(index_elements=list(key)))
    return db().scalar(query)


def _upsert_person(platform: Platform, claims: dict) -> Person:
    person = _get_or_create(Person, platform_id=platform.id, sub=_clip(str(claims["sub"]), 255))
    # Names and email are kept from the latest claims (the platform owns them).
    person.name = _clip(claims.get("name"), 300) or person.name
    person.given_name = _clip(claims.get("given_name"), 200) or person.given_name
    person.family_name = _clip(claims.get("family_name"), 200) or person.family_name
    person.email = _clip(claims.get("email"), 320) or person.email
    person.locale = _clip(claims.get("locale"), 35) or person.locale
    person.last_launch_at = utcnow()
    return person


def _upsert_course(platform: Platform, deployment: Deployment, claims: dict) -> Course:
    context = claims.get(CLAIM + "context")
    if not isinstance(context, dict) or not context.get("id"):
        raise LaunchError(
            "The launch has no course (context claim).",
            title="The tool must be launched from a course",
            fix="Add the tool to a course and launch it from there.",
        )
    course = _get_or_create(Course, {"deployment_id": deployment.id}, platform_id=platform.id,
                            context_id=_clip(str(context["id"]), 255))
    course.title = _clip(context.get("title"), 500) or course.title
    course.label = _clip(context.get("label"), 200) or course.label
    return course


def _upsert_placement(course: Course, claims: dict) -> Optional[Placement]:
    link = claims.get(CLAIM + "resource_link")
    if not isinstance(link, dict) or not link.get("id"):
        return None
    placement = _get_or_create(Placement, course_id=course.id, resource_link_id=_clip(str(link["id"]), 255))
    placement.title = _clip(link.get("title"), 500) or placement.title
    # The custom parameter the tool wrote at deep linking says which item this link opens;
    # it survives course copies, which give the link a new ID.
    custom = claims.get(CLAIM + "custom") or {}
    item = custom.get("npq_item") if isinstance(custom, dict) else None
    if item and not str(item).startswith("$"):
        placement.item_ref = _clip(item, 200)
    ags = claims.get(AGS_CLAIM)
    if isinstance(ags, dict) and ags.get("lineitem"):
        placement.line_item_url = _clip(ags["lineitem"], 1000)
    return placement


def _set_programme(course: Course, placement: Optional[Placement], claims: dict) -> None:
    """A course follows one programme: named by a custom parameter, or the first item placed."""
    custom = claims.get(CLAIM + "custom") or {}
    named = custom.get("npq_programme") if isinstance(custom, dict) else None
    if named and not str(named).startswith("$"):
        course.programme_code = _clip(named, 20).upper()
    elif not course.programme_code and placement is not None and placement.item_ref:
        course.programme_code = placement.item_ref.split("/", 1)[0][:20]


def open_session(platform: Platform, deployment: Deployment, claims: dict, *,
                 cookieless: bool = False, frame_origins: Optional[list[str]] = None) -> LaunchContext:
    """Record who launched where, and open a launch session for them."""
    lti_roles = [r for r in claims.get(CLAIM + "roles", []) if isinstance(r, str)]
    role = map_role(lti_roles)
    if role is None:
        raise LaunchError(
            f"None of the roles {lti_roles or '(none)'} gives access to the tool.",
            title="Your role in this course does not give access",
            fix="The tool is for participants (learners), tutors (instructors, teaching assistants, "
                "content developers), mentors and course administrators.",
            status=403,
        )
    person = _upsert_person(platform, claims)
    course = _upsert_course(platform, deployment, claims)
    db().flush()
    enrolment = _get_or_create(Enrolment, {"role": role, "lti_roles": lti_roles[:50]},
                               person_id=person.id, course_id=course.id)
    enrolment.role, enrolment.lti_roles, enrolment.source = role, lti_roles[:50], "launch"
    placement = _upsert_placement(course, claims)
    _set_programme(course, placement, claims)
    hours = current_app.config["LAUNCH_SESSION_HOURS"]
    row = LaunchSession(
        id=secrets.token_urlsafe(24),
        person=person,
        course=course,
        deployment_id=deployment.id,
        placement=placement,
        role=role,
        message_type=claims.get(CLAIM + "message_type"),
        services={**_services(claims), **({"frame_origins": frame_origins} if frame_origins is not None else {})},
        expires_at=utcnow() + timedelta(hours=hours),
        cookieless=cookieless,
    )
    db().add(row)
    db().commit()
    return LaunchContext.from_session(row)
