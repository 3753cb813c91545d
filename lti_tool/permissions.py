"""What a launched user may do: the roles each view allows, how far each role reaches into its
course, and the one check every view that names an object by id goes through.

Every view carries `allowed_roles` (read by tests/test_route_matrix.py): launch_required() sets it
to the roles named (Allow entries), admin_required to ADMIN, public() to PUBLIC. A role's reach is
fixed here (REACH): a participant reaches their own work, a mentor their mentees', a tutor or
course admin their course's. A view narrows a role further with Allow(role, submitted_only=True)
(no drafts) or Allow(role, setting="...") (only while that provider setting is on); the object
checks below read the entry the launch was admitted under, so the declaration is what is enforced.
"""
from __future__ import annotations

from functools import wraps
from typing import Iterable, Optional, TypeVar

from flask import abort, g
from sqlalchemy import select

from .db import db
from .models import COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR, Enrolment, Person
from .settings import get_setting

# What a view declares it allows (the `allowed_roles` attribute every view carries):
ANY_LAUNCH = ("any launch",)  # launch_required() with no role named: every launched role
PUBLIC = ("public",)          # anyone, signed in or not (LTI endpoints, admin sign-in, sandbox)
ADMIN = ("provider admin",)   # a signed-in provider admin (admin_required)

# How far each role reaches into its course's objects.
OWN, MENTEES, COURSE = "own", "mentees", "course"
REACH = {PARTICIPANT: OWN, MENTOR: MENTEES, TUTOR: COURSE, COURSE_ADMIN: COURSE}

# The largest id a database row can have (a BIGINT): anything larger names nothing, and SQLite
# refuses to even bind it.
MAX_ID = 2**63 - 1

T = TypeVar("T")


class Allow(str):
    """A role as a view allows it. Equal to the role's name (so `ctx.role in allowed_roles` reads
    right); it may see submitted work only (never drafts), and may need a provider setting on.
    Its reach is its role's (REACH)."""

    submitted_only: bool
    setting: Optional[str]

    def __new__(cls, role: str, *, submitted_only: bool = False, setting: Optional[str] = None) -> "Allow":
        if role not in REACH:
            raise ValueError(f"unknown role {role!r}")
        rule = super().__new__(cls, role)
        rule.submitted_only, rule.setting = submitted_only, setting
        return rule


def current_context():
    return g.ctx


def current_rule() -> Allow:
    """The entry of the view's allowed_roles this request was admitted under."""
    return g.rule


def launch_required(*roles: str):
    """The view needs a launch session of this browser, with one of these roles (any if none)."""
    rules = tuple(r if isinstance(r, Allow) else Allow(r) for r in roles)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            ctx = g.get("ctx")
            if ctx is None:
                abort(401)
            rule = _admitted(rules, ctx.role)
            if rule is None:
                abort(403)
            g.rule = rule
            return view(*args, **kwargs)

        wrapped.allowed_roles = rules or ANY_LAUNCH  # read by the route-by-role test
        return wrapped

    return decorator


def _admitted(rules: tuple[Allow, ...], role: str) -> Optional[Allow]:
    if not rules:
        return Allow(role)
    rule = next((r for r in rules if r == role), None)
    if rule is not None and rule.setting and not get_setting(rule.setting):
        return None
    return rule


def public(view):
    """Mark a view that anyone may call (its own checks, if any, are signatures or tokens)."""
    view.allowed_roles = PUBLIC
    return view


def public_static(state) -> None:
    """Blueprint record hook: mark the app's and this blueprint's static-file views public. Flask
    adds them as bound methods, which cannot carry an attribute, so each is wrapped once."""
    for endpoint in ("static", f"{state.name}.static"):
        view = state.app.view_functions.get(endpoint)
        if view is not None and not hasattr(view, "allowed_roles"):
            state.app.view_functions[endpoint] = _public_copy(view)


def _public_copy(view):
    @wraps(view)
    def serve(*args, **kwargs):
        return view(*args, **kwargs)

    return public(serve)


# -- object checks: every view that takes an id goes through these -----------------------------

def require_item(ref: str, programme_code: str) -> None:
    """403 unless this launch may open the item: every item of its course's programme, and the
    item its link was placed for (whatever programme that is)."""
    ctx = current_context()
    if ctx.item_ref != ref and ctx.programme_code != programme_code:
        abort(403)


def valid_id(value: object) -> Optional[int]:
    """An id as a row could have it (1 .. MAX_ID), from a URL, query or form value; else None."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def valid_ids(values: Iterable[object], limit: int = 1000) -> list[int]:
    return [n for n in (valid_id(v) for v in list(values)[:limit]) if n is not None]


def mentee_subs() -> set[str]:
    """The people (LTI subs) the platform says this mentor mentors (role_scope_mentor)."""
    return set(current_context().services.get("mentees") or [])


def reaches(person: Person) -> bool:
    """Whether this launch's role reaches this person's work (REACH)."""
    ctx = current_context()
    reach = REACH.get(ctx.role)
    if reach == COURSE:
        return True
    if reach == OWN:
        return person.id == ctx.person_id
    return reach == MENTEES and person.platform_id == ctx.platform_id and person.sub in mentee_subs()


def course_object(model: type[T], object_id: object) -> T:
    """The row of `model` with this id if this launch may reach it: it belongs to the launch's
    course and, where it is someone's (a person_id), to someone the role reaches. Anything else is
    a 404, as if it did not exist."""
    number = valid_id(object_id)
    row = db().get(model, number) if number is not None else None
    if row is None or row.course_id != current_context().course_id:
        abort(404)
    person_id = getattr(row, "person_id", None)
    if person_id is not None and not reaches(db().get(Person, person_id)):
        abort(404)
    return row


def course_participant(person_id: object) -> Person:
    """A participant of the launch's course whom this launch reaches (404 otherwise)."""
    number = valid_id(person_id)
    person = db().get(Person, number) if number is not None else None
    ctx = current_context()
    enrolled = person is not None and db().scalar(select(Enrolment.id).where(
        Enrolment.course_id == ctx.course_id, Enrolment.person_id == person.id, Enrolment.role == PARTICIPANT))
    if not enrolled or not reaches(person):
        abort(404)
    return person


def require_submitted(submitted: bool) -> None:
    """404 for a draft where the view lets this role see submitted work only."""
    if not submitted and current_rule().submitted_only:
        abort(404)
