"""The per-programme report `flask content check` prints once the packs are valid.

The report is a list of sections, each a function from a programme to its lines. Other parts of the
tool add theirs with `register_section` (e.g. the knowledge-check quality report in quality.py, imported
below when present)."""
from __future__ import annotations

import importlib
import importlib.util
from collections import Counter
from typing import Callable, Iterable

from .coverage import activities_by_unit
from .model import COMPLETE, INCOMPLETE, PROVIDER, SIBLING, Programme

Section = Callable[[Programme], Iterable[str]]
_STATUS_ORDER = (COMPLETE, SIBLING, PROVIDER, INCOMPLETE)
_STATUS_WORDS = {COMPLETE: "complete", SIBLING: "completed from a sibling source",
                 PROVIDER: "provider-supplied", INCOMPLETE: "still incomplete"}


def _counts(items) -> str:
    counts = Counter(i.status for i in items)
    return ", ".join(f"{counts[s]} {_STATUS_WORDS[s]}" for s in _STATUS_ORDER)


def wording(programme: Programme) -> list[str]:
    statements = list(programme.statements.values())
    bullets = [b for s in statements for b in s.bullets]
    lines = [f"  statements ({len(statements)}): {_counts(statements)}",
             f"  “Learn how to” bullets ({len(bullets)}): {_counts(bullets)}"]
    awaiting = [f"{a.number}. {a.title}" for a in programme.areas if a.awaiting_text]
    if awaiting:
        lines.append(f"  areas awaiting their official text: {'; '.join(awaiting)}")
    for provenance in programme.overlays:
        lines.append(f"  provider overlay applied: {provenance}")
    return lines


def activities_per_area(programme: Programme) -> list[str]:
    parts = []
    for area in programme.areas:
        count = sum(len(m.activities) for m in programme.modules if m.area_id == area.id and m.counts_for_coverage)
        parts.append(f"{area.number}. {area.title} {count}")
    outside = Counter(m.purpose for m in programme.modules for _ in m.activities if m.purpose)
    line = f"  activities per area: {'; '.join(parts)}"
    if outside:
        line += " (outside the areas: " + ", ".join(f"{n} {purpose}" for purpose, n in sorted(outside.items())) + ")"
    return [line]


def coverage(programme: Programme) -> list[str]:
    by_unit = activities_by_unit(programme)
    gaps = [programme.unit_label(u) for u, acts in by_unit.items() if not acts]
    line = f"  coverage (bullet level): {len(by_unit) - len(gaps)} of {len(by_unit)} developed by an activity"
    if gaps:
        shown = ", ".join(gaps[:12]) + (f" and {len(gaps) - 12} more" if len(gaps) > 12 else "")
        line += f"; gaps: {shown}"
    return [line]


SECTIONS: list[Section] = [wording, activities_per_area, coverage]


def register_section(section: Section) -> None:
    """Add a section to every programme's report (once)."""
    if section not in SECTIONS:
        SECTIONS.append(section)


# Checks that can fail a valid pack (e.g. knowledge-check limits): programme -> problems.
CHECKS: list[Callable[[Programme], list]] = []


def register_check(check: Callable[[Programme], list]) -> None:
    """Add a check whose problems fail `flask content check` (once)."""
    if check not in CHECKS:
        CHECKS.append(check)


def programme_problems(programmes: dict[str, Programme]) -> list:
    return [problem for _, programme in sorted(programmes.items()) for check in CHECKS for problem in check(programme)]


def programme_report(programme: Programme) -> list[str]:
    head = (f"{programme.code}: {len(programme.areas)} areas, {len(programme.statements)} statements, "
            f"{len(programme.modules)} modules, {len(programme.activities)} activities")
    if programme.is_outline:  # no framework text yet: its own line says so (outline.check_lines)
        return [head]
    return [head] + [line for section in SECTIONS for line in section(programme)]


def _load_contributed_sections() -> None:
    """Modules of this package that add report sections register them when imported (quality.py, the
    knowledge-check quality report, calls register_section); import the ones present."""
    for name in ("quality",):
        if importlib.util.find_spec(f"{__package__}.{name}") is not None:
            importlib.import_module(f"{__package__}.{name}")


_load_contributed_sections()
