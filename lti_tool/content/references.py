"""DfE-style references for framework statements, derived from the source's order.

The scheme follows the referencing DfE introduced with its 2024 frameworks (the ITT and Early Career
Framework): "Learn that" statements are numbered within their area ("2.3" is Learn that 3 of area 2)
and "Learn how to" bullets are lettered within their area, in order, across the headings ("2a", "2b",
... "2k"). A "Learn how to" heading has no number of its own in DfE's scheme, so it is referenced by
its bullets ("2a–2c"); a heading whose bullets are not known yet gets "2.H1" (heading 1 of area 2),
which cannot be mistaken for a Learn that number. Any reference can be set in the pack (`ref:`) or
corrected by a provider overlay.
"""
from __future__ import annotations

import string


def bullet_letter(index: int) -> str:
    """a, b, ... z, aa, ab, ...: the letter of the bullet at a 0-based index."""
    letters = string.ascii_lowercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def _span(refs: list[str]) -> str:
    return refs[0] if len(refs) == 1 else f"{refs[0]}–{refs[-1]}"


def derive_refs(area: dict) -> dict[tuple, str]:
    """The reference of every statement and bullet of one raw framework area, keyed by
    (kind, n, bullet index or None). A `ref:` in the data wins over the derived one."""
    number = area["number"]
    refs: dict[tuple, str] = {}
    for s in area.get("learn_that", []):
        refs[("that", s["n"], None)] = s.get("ref") or f"{number}.{s['n']}"
    position = 0  # bullets are lettered across the area's headings
    for s in area.get("learn_how", []):
        bullet_refs = []
        for bi, b in enumerate(s.get("bullets", [])):
            derived = f"{number}{bullet_letter(position)}"
            refs[("how", s["n"], bi)] = b.get("ref") or derived
            bullet_refs.append(refs[("how", s["n"], bi)])
            position += 1
        refs[("how", s["n"], None)] = s.get("ref") or (_span(bullet_refs) if bullet_refs else f"{number}.H{s['n']}")
    return refs
