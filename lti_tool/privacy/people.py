"""Finding a person across platforms and courses, and the rows the inventory says are about them."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Optional

from flask import current_app
from sqlalchemy import Table, and_, false, func, or_, select
from sqlalchemy.sql import ColumnElement

from ..db import Base, db
from ..models import MENTOR, PARTICIPANT, TUTOR, COURSE_ADMIN, Course, Enrolment, Person, Platform
from .inventory import TABLES, TableSpec, tables_about_people

ERASED_SUB_PREFIX = "erased:"
_ROLE_WORD = {PARTICIPANT: "participant", TUTOR: "tutor", COURSE_ADMIN: "tutor", MENTOR: "mentor"}


def table_of(spec: TableSpec) -> Table:
    return Base.metadata.tables[spec.name]


def about(spec: TableSpec, person_id: int) -> ColumnElement[bool]:
    """The rows of this table about the person: through its own column, or through a parent table."""
    t = table_of(spec)
    if spec.about == ("audit",):
        return or_(t.c.subject_person_id == person_id,
                   and_(t.c.target_type == "person", t.c.target_id == str(person_id)))
    if len(spec.about) == 1:
        return t.c[spec.about[0]] == person_id
    column, parent = spec.about
    parent_spec = TABLES[parent]
    return t.c[column].in_(select(table_of(parent_spec).c.id).where(about(parent_spec, person_id)))


def by(spec: TableSpec, person_id: int) -> ColumnElement[bool]:
    """Rows where the person acted (marked, answered, recorded) on someone else's record."""
    t = table_of(spec)
    acted = or_(*(t.c[column] == person_id for column in spec.by)) if spec.by else false()
    return and_(acted, ~about(spec, person_id)) if spec.about else acted


def counts_about(person_id: int) -> dict[str, int]:
    """How many rows of each table are about the person (one small query per table)."""
    out = {}
    for spec in tables_about_people():
        n = db().scalar(select(func.count()).select_from(table_of(spec)).where(about(spec, person_id)))
        if n:
            out[spec.name] = n
    return out


def counts_by(person_id: int) -> dict[str, int]:
    out = {}
    for spec in TABLES.values():
        if spec.by:
            n = db().scalar(select(func.count()).select_from(table_of(spec)).where(by(spec, person_id)))
            if n:
                out[spec.name] = n
    return out


def is_erased(person: Person) -> bool:
    return person.sub.startswith(ERASED_SUB_PREFIX)


def _digest(person_id: int) -> bytes:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"person-erasure:{person_id}".encode(), hashlib.sha256).digest()


def pseudonym_code(person_id: int) -> str:
    """Four letters and digits, the same for a person every time, not reversible without SECRET_KEY."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud without confusion
    value = int.from_bytes(_digest(person_id)[:8], "big")
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in range(4))


def pseudonymous_sub(person_id: int) -> str:
    return ERASED_SUB_PREFIX + _digest(person_id).hex()[:48]


@dataclass
class Enrolled:
    platform: str
    course: str
    role: str
    source: str


@dataclass
class Found:
    person: Person
    platform: str
    courses: list[Enrolled] = field(default_factory=list)

    @property
    def role_word(self) -> str:
        roles = [c.role for c in self.courses]
        common = max(set(roles), key=roles.count) if roles else None
        return _ROLE_WORD.get(common, "person")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(query: str) -> ColumnElement[bool]:
    """Case-insensitive on SQLite and PostgreSQL alike (lower() on both sides): every word of the
    query must appear in the name, the given or family name, the email or the VLE user ID."""
    full = func.coalesce(Person.name, "") + " " + func.coalesce(Person.given_name, "") + " " \
        + func.coalesce(Person.family_name, "") + " " + func.coalesce(Person.email, "") + " " + Person.sub
    query = "".join(c for c in query if c.isprintable())  # PostgreSQL refuses NUL in text
    words = [w for w in query.lower().split() if w][:8]
    conditions = [func.lower(full).like(f"%{_escape_like(w)}%", escape="\\") for w in words]
    number = query.strip()
    if number.isascii() and number.isdigit() and int(number) < 2 ** 31:  # a person number (a 32-bit column)
        return or_(Person.id == int(number), and_(*conditions))
    return and_(*conditions) if conditions else false()


def count_people(query: str) -> int:
    return db().scalar(select(func.count()).select_from(Person).where(search_condition(query)))


def find_people(query: str, *, offset: int = 0, limit: int = 25) -> tuple[int, list[Found]]:
    """(how many match, this page of them) with their platform and courses: three queries."""
    condition = search_condition(query)
    total = count_people(query)
    rows = db().execute(select(Person, Platform.name).join(Platform, Platform.id == Person.platform_id)
                        .where(condition).order_by(func.lower(func.coalesce(Person.family_name, Person.name, "")),
                                                   Person.id).offset(offset).limit(limit)).all()
    found = [Found(person, platform) for person, platform in rows]
    _attach_courses(found)
    return total, found


def person_found(person_id: int) -> Optional[Found]:
    row = db().execute(select(Person, Platform.name).join(Platform, Platform.id == Person.platform_id)
                       .where(Person.id == person_id)).first()
    if row is None:
        return None
    found = [Found(row[0], row[1])]
    _attach_courses(found)
    return found[0]


def _attach_courses(found: list[Found]) -> None:
    by_id = {f.person.id: f for f in found}
    rows = db().execute(select(Enrolment.person_id, Enrolment.role, Enrolment.source, Course.title, Course.label)
                        .join(Course, Course.id == Enrolment.course_id)
                        .where(Enrolment.person_id.in_(list(by_id) or [-1])).order_by(Course.title))
    for person_id, role, source, title, label in rows:
        f = by_id[person_id]
        f.courses.append(Enrolled(f.platform, title or label or "Untitled course", role, source))
