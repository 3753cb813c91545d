"""Apply the retention rules (retention.py): count (dry run) or delete, in batches, the rows past
their category's period. The one place the tool removes expired data: `flask data purge`, the
grade worker's housekeeping (sessions only) and the admin sign-in's tidy-up all come here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from sqlalchemy import delete, func, select, tuple_

from .. import audit
from ..db import db
from .retention import NEVER_PURGED, RULES, cutoffs

BATCH = 500


@dataclass(frozen=True)
class Outcome:
    category: str
    table: str
    rows: int


def purge(*, dry_run: bool = False, categories: Optional[Iterable[str]] = None,
          tables: Optional[Iterable[str]] = None, now: Optional[datetime] = None,
          batch: int = BATCH, commit: bool = True) -> list[Outcome]:
    """Each rule's rows past their period: counted (dry run) or deleted `batch` rows at a time,
    committing after each batch (so no lock is held long) unless `commit` is False."""
    wanted_categories = set(categories) if categories is not None else None
    wanted_tables = set(tables) if tables is not None else None
    limits = cutoffs(now)
    outcomes = []
    for rule in RULES:
        if wanted_categories is not None and rule.category not in wanted_categories:
            continue
        if wanted_tables is not None and rule.name not in wanted_tables:
            continue
        clause = rule.where(limits)
        if dry_run:
            rows = db().scalar(select(func.count()).select_from(rule.table).where(clause))
        else:
            rows = _delete_in_batches(rule.table, clause, batch, commit)
        outcomes.append(Outcome(rule.category, rule.name, int(rows or 0)))
    return outcomes


def _delete_in_batches(table, clause, batch: int, commit: bool) -> int:
    keys = list(table.primary_key.columns)
    total = 0
    while True:
        found = db().execute(select(*keys).where(clause).limit(batch)).all()
        if not found:
            return total
        match = keys[0].in_([k[0] for k in found]) if len(keys) == 1 else tuple_(*keys).in_(
            [tuple(k) for k in found])
        total += db().execute(delete(table).where(match)).rowcount
        if commit:
            db().commit()
        if len(found) < batch:
            return total


def run_purge(*, dry_run: bool) -> list[Outcome]:
    """`flask data purge`: every category; a real run leaves one audit entry summarising it."""
    outcomes = purge(dry_run=dry_run)
    if not dry_run:
        audit.record("data.purge", target_type="retention", detail={
            "deleted": {f"{o.category}/{o.table}": o.rows for o in outcomes if o.rows},
            "total": sum(o.rows for o in outcomes)})
        db().commit()
    return outcomes


def report_lines(outcomes: list[Outcome], *, dry_run: bool) -> list[str]:
    verb = "would be deleted" if dry_run else "deleted"
    width = max((len(o.table) for o in outcomes), default=10)
    lines = [f"{'Category':<11} {'Table':<{width}}  Rows {verb}"]
    lines += [f"{o.category:<11} {o.table:<{width}}  {o.rows}" for o in outcomes]
    lines.append(f"Total: {sum(o.rows for o in outcomes)} row(s) {verb}.")
    lines.append("Never purged: " + ", ".join(NEVER_PURGED) + " (admin accounts, platforms, settings).")
    return lines
