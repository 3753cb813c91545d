"""Fonts for the PDF, and what to draw for characters no font has.

Fira Sans (the ``fontpkg-fira-sans`` wheel) is always there; fallback fonts are used only when
they are installed: IBM Plex Sans Arabic (``fontpkg-ibm-plex-sans-arabic``) and system fonts such
as DejaVu Sans or a CJK font. What no font covers becomes a close character or "?".
"""
from __future__ import annotations

import functools
import os
import re
import unicodedata
from pathlib import Path
from typing import Iterable

from .document import ExportDocument, clean

FONT = "Fira"
_PUA = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")
TOTAL_ALIAS = "\ue000\ue001"   # stands for the page count; private use, so never in cleaned text


def primary_font_files() -> dict[str, Path]:
    try:
        import fontpkg_fira_sans
    except ImportError as exc:  # pragma: no cover - a packaging error, not a runtime state
        raise RuntimeError("PDF export needs the 'fontpkg-fira-sans' package") from exc
    root = Path(fontpkg_fira_sans.ROOT) / "files"
    return {"": root / "FiraSans-Regular.ttf", "B": root / "FiraSans-SemiBold.ttf",
            "I": root / "FiraSans-Italic.ttf"}


def fallback_candidates() -> list[tuple[str, Path, int]]:
    """(name, file, face index) of fallback fonts that are installed, best first."""
    found: list[tuple[str, Path, int]] = []
    try:
        import fontpkg_ibm_plex_sans_arabic as arabic
        found.append(("PlexArabic", Path(arabic.ROOT) / "files" / "IBMPlexSansArabic-Regular.ttf", 0))
    except ImportError:
        pass
    system = [
        ("DejaVu", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
        ("NotoArabic", "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf", 0),
        ("NotoHebrew", "/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf", 0),
        ("NotoDeva", "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf", 0),
        ("NotoCJK", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
        ("DroidFallback", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
        ("WQY", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ]
    extra = os.environ.get("NPQ_PDF_FALLBACK_FONTS", "")
    for i, path in enumerate(p for p in extra.split(os.pathsep) if p):
        system.append((f"Extra{i}", path, 0))
    for name, path, index in system:
        if os.path.isfile(path):
            found.append((name, Path(path), index))
    return found


@functools.lru_cache(maxsize=32)
def _cmap(path: Path, index: int = 0) -> frozenset[int]:
    from fontTools.ttLib import TTFont
    try:
        with TTFont(str(path), lazy=True, fontNumber=index) as font:
            return frozenset(font.getBestCmap() or ())
    except Exception:  # an unreadable system font is skipped, not fatal
        return frozenset()


def pdf_fonts_available() -> list[str]:
    """Names of the fonts the PDF export can use here (for diagnostics and tests)."""
    return [FONT] + [name for name, path, index in fallback_candidates() if _cmap(path, index)]


def _document_strings(doc: ExportDocument) -> Iterable[str]:
    yield from (doc.title, doc.programme, doc.participant, doc.school or "", doc.course,
                doc.version_label)
    for a, b in doc.dates or ():
        yield a
        yield b
    for s in doc.sections or ():
        yield from (s.title, s.guidance or "", s.text or "", s.note or "")
        for a, b in s.fields or ():
            yield a
            yield b
        yield from s.columns or ()
        for row in s.rows or ():
            yield from row
        yield from s.references or ()


class Glyphs:
    """Chooses the fallback fonts a document needs and maps what no font has to something drawable."""

    def __init__(self, doc: ExportDocument):
        primary = _cmap(primary_font_files()[""])
        self.covered = set(primary)
        chars = set()
        for s in _document_strings(doc):
            chars.update(clean(s))
        missing = {c for c in chars if ord(c) not in primary and c not in "\n "}
        self.fallbacks: list[tuple[str, Path, int]] = []
        for name, path, index in fallback_candidates() if missing else ():
            cmap = _cmap(path, index)
            useful = {c for c in missing if ord(c) in cmap}
            if useful:
                self.fallbacks.append((name, path, index))
                self.covered |= {ord(c) for c in useful}
                missing -= useful
        self.replace: dict[str, str] = {}
        for c in missing:
            self.replace[c] = self._substitute(c)
        self.shaping = False

    def _substitute(self, c: str) -> str:
        category = unicodedata.category(c)
        if category in ("Mn", "Me", "Cf") or _PUA.match(c) or 0xFE00 <= ord(c) <= 0xFE0F:
            return ""  # joiners, variation selectors, marks the font lacks: invisible anyway
        if category == "Zs":
            return " "
        compat = unicodedata.normalize("NFKC", c)
        if compat != c and compat and all(ord(x) in self.covered for x in compat):
            return compat
        decomposed = unicodedata.normalize("NFKD", c)
        base = "".join(x for x in decomposed if not unicodedata.combining(x))
        if base and base != c and all(ord(x) in self.covered for x in base):
            return base
        if category == "Pd":
            return "-"
        return "?"

    def text(self, value: object) -> str:
        text = clean(value)
        if self.replace:
            text = "".join(self.replace.get(c, c) for c in text)
        return text.replace(TOTAL_ALIAS, "")
