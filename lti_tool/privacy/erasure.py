"""Erasure: the person's free text removed, their identity replaced by a stable pseudonym, the
numbers cohort figures need kept, all in one transaction with one audit entry. What happens to
each column comes from the inventory; the preview lists it before anything changes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy import JSON, Column, and_, delete, func, select, update

from .. import audit
from ..db import Base, db
from .inventory import BLANK, KEEP, PSEUDONYMISE, TABLES, TableSpec, tables_about_people
from .people import Found, about, counts_by, is_erased, person_found, pseudonym_code, pseudonymous_sub, table_of

CONFIRM_WORD = "ERASE"


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


@dataclass
class TablePlan:
    spec: TableSpec
    rows: int                 # rows about the person
    kept_rows: int = 0        # of those, rows a delete keeps (kept_rows rule)
    blanked: list[str] = field(default_factory=list)
    pseudonymised: list[str] = field(default_factory=list)
    kept: list[tuple[list[str], str]] = field(default_factory=list)  # (columns, reason)

    @property
    def label(self) -> str:
        return next((e.purpose for e in self.spec.personal() if e.purpose), self.spec.name)

    @property
    def deleted(self) -> int:
        return self.rows - self.kept_rows if self.spec.deletes_rows else 0


@dataclass
class ErasurePlan:
    found: Found
    pseudonym: str
    tables: list[TablePlan]
    acted_for_others: dict[str, int]

    @property
    def already_erased(self) -> bool:
        return is_erased(self.found.person)

    @property
    def deleted(self) -> list[TablePlan]:
        return [t for t in self.tables if t.deleted]

    @property
    def changed(self) -> list[TablePlan]:
        return [t for t in self.tables if not t.spec.deletes_rows and (t.blanked or t.pseudonymised)]

    def kept(self) -> list[tuple[str, str]]:
        """(what is kept, why): kept columns grouped by reason, rows a delete keeps, records of others."""
        out: dict[str, list[str]] = {}
        for t in self.tables:
            for columns, reason in t.kept:
                out.setdefault(reason, []).append(f"{t.spec.name}: {', '.join(columns)} ({_rows(t.rows)})")
            if t.kept_rows:
                out.setdefault(t.spec.kept_rows[2], []).append(f"{t.spec.name}: {_rows(t.kept_rows)}")
        if self.acted_for_others:
            reason = ("Records about other people where this person acted (marks they gave, answers, attendance "
                      "they recorded): kept for those people, shown under the pseudonym.")
            out[reason] = [f"{name}: {_rows(n)}" for name, n in sorted(self.acted_for_others.items())]
        return [("; ".join(items), reason) for reason, items in out.items()]

    def lines(self) -> list[str]:
        """The preview as plain text, for the CLI."""
        p = self.found.person
        out = [f"Person {p.id}: {p.display_name} ({self.found.platform}) becomes “{self.pseudonym}”.", "",
               "Deleted:"]
        out += [f"  {t.spec.name}: {_rows(t.deleted)} — {t.label}" for t in self.deleted] or ["  nothing"]
        out += ["", "Blanked or pseudonymised:"]
        out += [f"  {t.spec.name}: {', '.join(t.blanked + t.pseudonymised)} in {_rows(t.rows)}" for t in self.changed] \
            or ["  nothing"]
        out += ["", "Kept:"] + [f"  {what}\n    why: {why}" for what, why in self.kept()]
        return out


def _plan_for(spec: TableSpec, person_id: int) -> Optional[TablePlan]:
    t = table_of(spec)
    condition = about(spec, person_id)
    rows = db().scalar(select(func.count()).select_from(t).where(condition))
    if not rows:
        return None
    plan = TablePlan(spec, rows)
    if spec.kept_rows:
        column, value, _ = spec.kept_rows
        plan.kept_rows = db().scalar(select(func.count()).select_from(t).where(condition, t.c[column] == value))
    if not spec.deletes_rows:
        plan.blanked = [e.column for e in spec.personal() if e.erasure == BLANK]
        plan.pseudonymised = [e.column for e in spec.personal() if e.erasure == PSEUDONYMISE]
        reasons: dict[str, list[str]] = {}
        for e in spec.personal():
            if e.erasure == KEEP:
                reasons.setdefault(e.keep_reason, []).append(e.column)
        plan.kept = [(columns, reason) for reason, columns in reasons.items()]
    return plan


def pseudonym_for(found: Found) -> str:
    return f"Erased {found.role_word} {pseudonym_code(found.person.id)}"


def preview(person_id: int) -> Optional[ErasurePlan]:
    found = person_found(person_id)
    if found is None:
        return None
    tables = [plan for spec in tables_about_people() if (plan := _plan_for(spec, person_id)) is not None]
    return ErasurePlan(found, pseudonym_for(found), tables, counts_by(person_id))


def blank_value(column: Column) -> Any:
    if column.nullable:
        return None
    return {} if isinstance(column.type, JSON) else ""


def _children_first() -> list[TableSpec]:
    order = [t.name for t in reversed(Base.metadata.sorted_tables)]
    return sorted(tables_about_people(), key=lambda spec: order.index(spec.name))


def _apply(spec: TableSpec, person_id: int, plan: ErasurePlan) -> None:
    t = table_of(spec)
    condition = about(spec, person_id)
    if spec.deletes_rows:
        if spec.kept_rows:
            column, value, _ = spec.kept_rows
            condition = and_(condition, t.c[column] != value)
        db().execute(delete(t).where(condition))
        return
    values = {e.column: blank_value(t.c[e.column]) for e in spec.personal() if e.erasure == BLANK}
    if spec.name == "person":  # the identity itself: the pseudonym, and a VLE user ID no launch sends
        values.update(name=plan.pseudonym, sub=pseudonymous_sub(person_id))
    if values:
        db().execute(update(t).where(condition).values(**values))


def erase(person_id: int, actor: Optional[str] = None) -> ErasurePlan:
    """Erase the person in one transaction (all of it or nothing); the plan that was carried out."""
    plan = preview(person_id)
    if plan is None or plan.already_erased:
        raise ValueError("No such person, or already erased.")
    session = db()
    try:
        for spec in _children_first():
            _apply(spec, person_id, plan)
        audit.record("person.erase", target_type="person", target_id=person_id, subject=person_id, actor=actor, detail={
            "pseudonym": plan.pseudonym, "deleted": {t.spec.name: t.deleted for t in plan.deleted},
            "changed": {t.spec.name: t.rows for t in plan.changed},
            "kept_rows": {t.spec.name: t.kept_rows for t in plan.tables if t.kept_rows}})
        session.commit()
    except Exception:
        session.rollback()
        raise
    session.expire_all()
    return plan


def inventory_pseudonymised_columns_are_links() -> list[str]:
    """Pseudonymised columns other than the person's name and VLE user ID must point at a person
    (they then belong to the pseudonym): the names of any that do not."""
    bad = []
    for spec in TABLES.values():
        t = table_of(spec)
        for e in spec.personal():
            if e.erasure == PSEUDONYMISE and (spec.name, e.column) not in (("person", "name"), ("person", "sub")):
                if not any(fk.column.table.name == "person" for fk in t.c[e.column].foreign_keys):
                    bad.append(f"{spec.name}.{e.column}")
    return bad
