"""Framework coverage at the bullet level: a "Learn that" statement is one unit, a "Learn how to"
statement one unit per bullet. Only framework modules count (induction, preparation and bridging
material develops no statements of the programme)."""
from __future__ import annotations

from .model import Activity, Programme


def counted_activities(programme: Programme) -> list[Activity]:
    return [a for m in programme.modules if m.counts_for_coverage for a in m.activities]


def activities_by_unit(programme: Programme) -> dict[str, list[Activity]]:
    """Every coverage unit of the framework, in order, with the activities that develop it."""
    by_unit: dict[str, list[Activity]] = {unit: [] for unit in programme.coverage_units}
    for activity in counted_activities(programme):
        for unit in sorted(programme.units_of(activity.develops)):
            by_unit.setdefault(unit, []).append(activity)
    return by_unit


def covered_units(programme: Programme, done_activities) -> set[str]:
    """The units a set of finished activities covers."""
    counted = {a.id for a in counted_activities(programme)}
    return programme.units_of(ref for a in done_activities if a.id in counted for ref in a.develops)
