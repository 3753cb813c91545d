"""LTI roles to tool roles: which LTI role URIs give which role in the tool.

A person's role in a course comes from their context (membership) roles: what the platform says
they are in this course. An institution or system Administrator role says what they are across
the platform, not in this course: it counts only where the launch carries no context role at all
(a platform admin opening the tool from a course they are not enrolled in), or where the provider
has turned INSTITUTION_ADMINS_ARE_COURSE_ADMINS on. Otherwise a Learner who also administers the
school's VLE would mark, release and export their own cohort's work.
"""
from __future__ import annotations

from typing import Optional

from ..models import COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR
from ..settings import get_setting

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
INSTITUTION_ADMINS_SETTING = "INSTITUTION_ADMINS_ARE_COURSE_ADMINS"


def _context_role_name(uri: str) -> Optional[str]:
    """The name of a context role ("Instructor#TeachingAssistant" -> "TeachingAssistant"), or None
    for a role of another vocabulary (institution, system, ...). Simple names ("Learner") are
    read as context roles, as LTI 1.1 sent them."""
    for prefix in _CONTEXT_ROLE_PREFIXES:
        if uri.startswith(prefix):
            return uri[len(prefix):].split("#")[-1]
    if "/" in uri or ":" in uri:
        return None
    return uri.split("#")[-1]


def _institution_admins_count(has_context_role: bool) -> bool:
    """Whether an institution or system Administrator role makes this person a course admin (the
    setting is read only for the rare launch it decides)."""
    if not has_context_role:
        return True
    return get_setting(INSTITUTION_ADMINS_SETTING)


def map_role(lti_roles: list[str]) -> Optional[str]:
    """The tool role for a set of LTI roles: Learner -> participant; Instructor, TA, content
    developer -> tutor; Administrator -> course admin; Mentor -> mentor. None if none apply.

    An institution or system Administrator is a course admin only without any context role, or
    with the provider setting INSTITUTION_ADMINS_ARE_COURSE_ADMINS on."""
    names = [n for n in (_context_role_name(uri) for uri in lti_roles) if n is not None]
    found = {_ROLE_SUFFIXES[n] for n in names if n in _ROLE_SUFFIXES}
    if any(uri in _ADMIN_ROLES for uri in lti_roles) and _institution_admins_count(bool(names)):
        found.add(COURSE_ADMIN)
    return next((role for role in ROLE_ORDER if role in found), None)
