"""LTI roles to tool roles: which LTI role URIs give which role in the tool."""
from __future__ import annotations

from typing import Optional

from ..models import COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR

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
