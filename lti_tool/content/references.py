"""DfE-style references for framework statements, derived from the source's order.

The scheme is the one the programme brief gives for DfE's 2024 referencing: "Learn that" statements
are numbered within their area ("2.3" is Learn that 3 of area 2) and "Learn how to" bullets are
lettered under their numbered heading ("2.3a" is bullet a of Learn how to 3 in area 2). The letter
keeps a bullet apart from the Learn that statement with the same number. A heading is referenced by
its bullets ("2.3a–c"); a heading whose bullets are not known yet gets "2.H3" (Learn how to 3 of
area 2), which cannot be mistaken for a Learn that number. DfE's own PDFs were not available to
confirm the scheme: any reference can be set in the pack (`ref:`) or corrected by a provider overlay.
"""
from __future__ import annotations

import string


def bullet_letter(index: int) -> str:
    """a, b, ... z, aa, ab, ...: the letter of the bullet at a 0-based index."""
    letters = string.ascii_lowercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def _span(refs: list[str]) -> str:
    """"2.3a–c" for bullets 2.3a to 2.3c (the shared stem is not repeated)."""
    if len(refs) == 1:
        return refs[0]
    first, last = refs[0], refs[-1]
    stem = first.rstrip(string.ascii_lowercase)
    return f"{first}–{last[len(stem):]}" if last.startswith(stem) and last != stem else f"{first}–{last}"


def derive_refs(area: dict) -> dict[tuple, str]:
    """The reference of every statement and bullet of one raw framework area, keyed by
    (kind, n, bullet index or None). A `ref:` in the data wins over the derived one."""
    number = area["number"]
    refs: dict[tuple, str] = {}
    for s in area.get("learn_that", []):
        refs[("that", s["n"], None)] = s.get("ref") or f"{number}.{s['n']}"
    for s in area.get("learn_how", []):
        bullet_refs = []
        for bi, b in enumerate(s.get("bullets", [])):
            refs[("how", s["n"], bi)] = b.get("ref") or f"{number}.{s['n']}{bullet_letter(bi)}"
            bullet_refs.append(refs[("how", s["n"], bi)])
        refs[("how", s["n"], None)] = s.get("ref") or (_span(bullet_refs) if bullet_refs else f"{number}.H{s['n']}")
    return refs
