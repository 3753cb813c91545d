"""Export a write-up as PDF or Word (.docx).

Plain Python (no Flask): the caller builds an :class:`ExportDocument` and gets bytes back.

Everything in a document is participant-written text and is drawn literally: nothing is
parsed as markup (fpdf2 is called with ``markdown=False``, python-docx escapes XML itself).
Before drawing, text is cleaned of what neither format can hold (control characters, lone
surrogates) and, for the PDF, each character the embedded fonts cannot draw is replaced.

PDF: fpdf2 with Fira Sans, a Unicode TrueType font shipped in the ``fontpkg-fira-sans`` wheel
(Latin, Greek, Cyrillic, Vietnamese). For characters outside it, fallback fonts are used only
when they are installed: IBM Plex Sans Arabic (``fontpkg-ibm-plex-sans-arabic``) and system
fonts such as DejaVu Sans or a CJK font. Arabic and other complex scripts are shaped when
``uharfbuzz`` is installed. What no font covers becomes "?".
"""
from __future__ import annotations

import functools
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

__all__ = ["ExportDocument", "ExportSection", "to_pdf", "to_docx", "pdf_fonts_available"]


@dataclass
class ExportSection:
    title: str
    kind: str                                   # "fields" | "table" | "text" | "references"
    guidance: Optional[str] = None
    fields: list[tuple[str, str]] = ()          # kind fields: (label, value) pairs
    columns: list[str] = ()                     # kind table: column labels
    rows: list[list[str]] = ()                  # kind table: cell texts, one list per row
    text: Optional[str] = None                  # kind text: paragraphs separated by blank lines
    word_count: Optional[int] = None            # kind text
    references: list[str] = ()                  # kind references: one formatted reference each
    note: Optional[str] = None                  # e.g. "Highest risks: ..." or "Words: 3,812 of 4,000"


@dataclass
class ExportDocument:
    title: str
    programme: str
    participant: str
    school: Optional[str]
    course: str
    version_label: str
    dates: list[tuple[str, str]]
    sections: list[ExportSection] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Text cleaning shared by both formats

_BAD_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff\ud800-\udfff]"
)


def _clean(value: object) -> str:
    """Any value as text that XML and PDF can hold: NFC, '\\n' line ends, no control chars."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # Lone surrogates (possible in a Python str) would crash any encoder: make them U+FFFD.
    text = _BAD_CHARS.sub(lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else "", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x85", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n").replace("\t", "    ")
    return unicodedata.normalize("NFC", text)


def _paragraphs(text: Optional[str]) -> list[str]:
    """Paragraphs separated by blank lines; single line breaks inside a paragraph are kept."""
    out = []
    for block in re.split(r"\n[ \t\u00a0]*\n", _clean(text)):
        lines = [line.rstrip() for line in block.split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if lines:
            out.append("\n".join(lines))
    return out


def _section_note(section: ExportSection) -> str:
    if section.note:
        return _clean(section.note)
    if section.kind == "text" and section.word_count is not None:
        return f"Words: {section.word_count:,}"
    return ""


def _table_shape(section: ExportSection) -> tuple[list[str], list[list[str]]]:
    """Columns and rows padded to the same width (a ragged row must not crash or lose cells)."""
    columns = [_clean(c) for c in (section.columns or ())]
    rows = [[_clean(c) for c in (row or ())] for row in (section.rows or ())]
    width = max([len(columns)] + [len(r) for r in rows]) if (columns or rows) else 0
    columns += [""] * (width - len(columns))
    rows = [r + [""] * (width - len(r)) for r in rows]
    return columns, rows


def _column_widths(columns: list[str], rows: list[list[str]], total: float, measure,
                   *, pad: float, cap: float) -> list[float]:
    """Widths that add up to total, shared by how much text each column holds; a column is
    never narrower than its longest word (up to cap), so that headers like "Likelihood" fit."""
    n = len(columns)
    weights, floors = [], []
    for j in range(n):
        texts = [columns[j]] + [r[j] for r in rows]
        avg = sum(len(x) for x in texts) / len(texts)
        weights.append(max(4.0, min(avg, 400.0)) ** 0.6)
        longest = 0.0
        for x in texts[:60]:
            for word in x.split()[:80]:
                longest = max(longest, measure(word))
        floors.append(min(longest + pad, total / n * 1.4, cap))
    share = [w / sum(weights) * total for w in weights]
    # Raise narrow columns to their floor, taking the space from the others in proportion.
    for _ in range(n):
        short = [j for j in range(n) if share[j] < floors[j] - 1e-6]
        if not short:
            break
        extra = sum(floors[j] - share[j] for j in short)
        for j in short:
            share[j] = floors[j]
        others = [j for j in range(n) if share[j] > floors[j]]
        pool = sum(share[j] - floors[j] for j in others)
        if pool <= 0:
            break
        for j in others:
            share[j] -= min(1.0, extra / pool) * (share[j] - floors[j])
    scale = total / sum(share)
    return [w * scale for w in share]


def _title_rows(doc: ExportDocument) -> list[tuple[str, str]]:
    rows = [("Participant", _clean(doc.participant))]
    if doc.school:
        rows.append(("School", _clean(doc.school)))
    rows.append(("Course", _clean(doc.course)))
    rows.append(("Version", _clean(doc.version_label)))
    rows += [(_clean(label), _clean(value)) for label, value in (doc.dates or ())]
    return rows


# --------------------------------------------------------------------------------------------
# Fonts for the PDF

_FONT = "Fira"
_PUA = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")
_TOTAL_ALIAS = "\ue000\ue001"   # stands for the page count; private use, so never in cleaned text
_COMPLEX = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\u0900-\u0dff\u0e00-\u0eff"
                      "\u1000-\u109f\u1780-\u17ff]")


def _primary_font_files() -> dict[str, Path]:
    try:
        import fontpkg_fira_sans
    except ImportError as exc:  # pragma: no cover - a packaging error, not a runtime state
        raise RuntimeError("PDF export needs the 'fontpkg-fira-sans' package") from exc
    root = Path(fontpkg_fira_sans.ROOT) / "files"
    return {"": root / "FiraSans-Regular.ttf", "B": root / "FiraSans-SemiBold.ttf",
            "I": root / "FiraSans-Italic.ttf"}


def _fallback_candidates() -> list[tuple[str, Path, int]]:
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
    return [_FONT] + [name for name, path, index in _fallback_candidates() if _cmap(path, index)]


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


class _Glyphs:
    """Chooses the fallback fonts a document needs and maps what no font has to something drawable."""

    def __init__(self, doc: ExportDocument):
        primary = _cmap(_primary_font_files()[""])
        self.covered = set(primary)
        chars = set()
        for s in _document_strings(doc):
            chars.update(_clean(s))
        missing = {c for c in chars if ord(c) not in primary and c not in "\n "}
        self.fallbacks: list[tuple[str, Path, int]] = []
        for name, path, index in _fallback_candidates() if missing else ():
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
        text = _clean(value)
        if self.replace:
            text = "".join(self.replace.get(c, c) for c in text)
        return text.replace(_TOTAL_ALIAS, "")


# --------------------------------------------------------------------------------------------
# PDF

_MM_PER_PT = 25.4 / 72
_INK = (33, 37, 41)
_MUTED = (95, 102, 112)
_ACCENT = (22, 58, 100)
_RULE = (200, 206, 214)
_HEAD_FILL = (22, 58, 100)
_LABEL_FILL = (237, 241, 246)
_ZEBRA = (247, 249, 251)
_GUIDE_FILL = (243, 246, 250)
_MARGIN = 18.0


def _line_h(size_pt: float, leading: float = 1.32) -> float:
    return size_pt * _MM_PER_PT * leading


def _has_complex(text: str) -> bool:
    return bool(_COMPLEX.search(text))


def _make_pdf_class():
    from fpdf import FPDF

    class _ExportPDF(FPDF):
        footer_text = ""
        footer_shaping = False

        def footer(self):
            shaping = self.text_shaping
            if self.footer_shaping and not shaping:
                self.set_text_shaping(True)
            elif shaping and not self.footer_shaping:
                self.set_text_shaping(False)
            try:
                self._draw_footer()
            finally:
                self.text_shaping = shaping

        def _draw_footer(self):
            self.set_y(-12)
            width = self.w - 2 * _MARGIN
            self.set_draw_color(*_RULE)
            self.set_line_width(0.2)
            self.line(_MARGIN, self.h - 13.5, self.w - _MARGIN, self.h - 13.5)
            self.set_font(_FONT, "", 8)
            self.set_text_color(*_MUTED)
            page = f"Page {self.page_no()} of {_TOTAL_ALIAS}"
            page_w = self.get_string_width(f"Page {self.page_no()} of 000") + 1
            left = _fit(self, self.footer_text, width - page_w - 4)
            self.set_x(_MARGIN)
            self.cell(width - page_w, 5, left, align="L")
            self.set_x(self.w - _MARGIN - page_w)
            self.cell(page_w, 5, page, align="R")

    return _ExportPDF


def _orientation(pdf) -> str:
    """ "P" or "L" (fpdf2 keeps an enum)."""
    value = getattr(pdf.cur_orientation, "value", pdf.cur_orientation)
    return str(value)[:1].upper()


def _fit(pdf, text: str, width: float) -> str:
    """The text shortened with an ellipsis so that it fits on one line of the given width."""
    text = " ".join(text.split())
    if pdf.get_string_width(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pdf.get_string_width(text[:mid].rstrip() + "…") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


class _PdfWriter:
    def __init__(self, doc: ExportDocument):
        self.doc = doc
        self.glyphs = _Glyphs(doc)
        pdf = _make_pdf_class()(orientation="P", unit="mm", format="A4")
        self.pdf = pdf
        for style, path in _primary_font_files().items():
            pdf.add_font(_FONT, style, str(path))
        names = []
        for name, path, index in self.glyphs.fallbacks:
            kwargs = {"collection_font_number": index} if index else {}
            pdf.add_font(name, "", str(path), **kwargs)
            names.append(name)
        if names:
            pdf.set_fallback_fonts(names, exact_match=False)
        try:
            import uharfbuzz  # noqa: F401
            self.can_shape = True
        except ImportError:
            self.can_shape = False
        pdf.alias_nb_pages(_TOTAL_ALIAS)
        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.set_auto_page_break(True, margin=20)
        pdf.c_margin = 0
        pdf.set_display_mode("fullwidth")
        t = self.glyphs.text
        pdf.set_title(f"{t(doc.title)} – {t(doc.participant)}")
        pdf.set_author(t(doc.participant))
        pdf.set_subject(t(doc.programme))
        pdf.set_creator("NPQ LTI tool")
        pdf.set_lang("en-GB")
        pdf.footer_text = f"{t(doc.participant)} · {t(doc.title)}"
        pdf.footer_shaping = self.can_shape and _has_complex(pdf.footer_text)

    # -- text primitives -----------------------------------------------------------------

    def _shape_for(self, text: str) -> None:
        want = self.can_shape and _has_complex(text)
        if want != self.glyphs.shaping:
            self.pdf.set_text_shaping(want)
            self.glyphs.shaping = want

    def font(self, style: str = "", size: float = 10.5, color=_INK) -> None:
        self.pdf.set_font(_FONT, style, size)
        self.pdf.set_text_color(*color)

    def para(self, text: str, h: float, *, align: str = "L", fill: bool = False) -> None:
        self._shape_for(text)
        self.pdf.multi_cell(0, h, text, align=align, fill=fill, new_x="LMARGIN", new_y="NEXT",
                            markdown=False)

    def wrap(self, text: str, width: float, h: float) -> list[str]:
        if not text:
            return [""]
        self._shape_for(text)
        lines = self.pdf.multi_cell(max(width, 2.0), h, text, dry_run=True, output="LINES",
                                    markdown=False, align="L")
        return list(lines) or [""]

    def line_at(self, x: float, y: float, w: float, h: float, text: str, align: str = "L"):
        if not text:
            return
        self._shape_for(text)
        self.pdf.set_xy(x, y)
        self.pdf.cell(w, h, text, align=align, markdown=False)

    @property
    def body_width(self) -> float:
        return self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def space_left(self) -> float:
        return self.pdf.page_break_trigger - self.pdf.get_y()

    def new_page(self, orientation: Optional[str] = None) -> None:
        self.pdf.add_page(orientation=orientation or _orientation(self.pdf))

    def ensure(self, height: float) -> None:
        if self.space_left() < height:
            self.new_page()

    # -- document ------------------------------------------------------------------------

    def render(self) -> bytes:
        pdf, t = self.pdf, self.glyphs.text
        pdf.add_page()
        self.title_block()
        for section in self.doc.sections or ():
            wide = section.kind == "table" and len(_table_shape(section)[0]) >= 6
            want = "L" if wide else "P"
            if _orientation(pdf) != want:
                self.new_page(want)
            self.section(section)
        return bytes(pdf.output())

    def title_block(self) -> None:
        pdf, t, doc = self.pdf, self.glyphs.text, self.doc
        # A band of colour at the top of the first page.
        pdf.set_fill_color(*_ACCENT)
        pdf.rect(0, 0, pdf.w, 5, style="F")
        pdf.set_y(_MARGIN + 2)
        self.font("B", 9, _ACCENT)
        self.para(t(doc.programme), _line_h(9))
        pdf.ln(1.5)
        self.font("B", 22, _INK)
        self.para(t(doc.title), _line_h(22, 1.2))
        pdf.ln(4)
        rows = _title_rows(doc)
        label_w = 34.0
        width = self.body_width
        pdf.set_draw_color(*_RULE)
        pdf.set_line_width(0.2)
        pdf.line(_MARGIN, pdf.get_y(), _MARGIN + width, pdf.get_y())
        pdf.ln(2)
        h = _line_h(10)
        for label, value in rows:
            label, value = t(label), t(value)
            self.font("", 10, _MUTED)
            label_lines = self.wrap(label, label_w - 3, h)
            self.font("B" if label == "Participant" else "", 10, _INK)
            value_lines = self.wrap(value or "—", width - label_w, h)
            needed = max(len(label_lines), len(value_lines)) * h + 1.2
            self.ensure(needed)
            y = pdf.get_y()
            self.font("", 10, _MUTED)
            for i, line in enumerate(label_lines):
                self.line_at(_MARGIN, y + i * h, label_w - 3, h, line)
            self.font("B" if label == "Participant" else "", 10, _INK)
            for i, line in enumerate(value_lines):
                self.line_at(_MARGIN + label_w, y + i * h, width - label_w, h, line)
            pdf.set_xy(_MARGIN, y + needed)
        pdf.ln(1)
        pdf.line(_MARGIN, pdf.get_y(), _MARGIN + width, pdf.get_y())
        pdf.ln(6)

    def section(self, section: ExportSection) -> None:
        pdf, t = self.pdf, self.glyphs.text
        title = t(section.title)
        # Keep the heading with what follows it.
        self.ensure(30)
        pdf.start_section(" ".join(title.split())[:200] or "Section", level=0)
        self.font("B", 14, _ACCENT)
        self.para(title, _line_h(14, 1.25))
        pdf.set_draw_color(*_ACCENT)
        pdf.set_line_width(0.4)
        y = pdf.get_y() + 0.8
        pdf.line(_MARGIN, y, _MARGIN + self.body_width, y)
        pdf.set_y(y + 3)
        if section.guidance and _clean(section.guidance).strip():
            self.guidance(t(section.guidance))
        kind = section.kind
        if kind == "fields":
            rows = [[t(a), t(b) or "—"] for a, b in (section.fields or ())]
            if rows:
                width = self.body_width
                label_w = min(60.0, width * 0.32)
                self.table([], rows, [label_w, width - label_w], size=10, label_column=True)
            else:
                self.empty("Nothing entered.")
        elif kind == "table":
            columns, rows = _table_shape(section)
            columns = [t(c) for c in columns]
            rows = [[t(c) for c in r] for r in rows]
            if not columns:
                self.empty("Nothing entered.")
            else:
                n = len(columns)
                size = 10 if n <= 3 else 9 if n <= 5 else 8.5 if n <= 7 else 7.5
                widths = self.column_widths(columns, rows, size)
                self.table(columns, rows, widths, size=size)
                if not rows:
                    self.empty("No rows entered.")
        elif kind == "text":
            paragraphs = _paragraphs(section.text)
            if not paragraphs:
                self.empty("No text entered.")
            self.font("", 10.5, _INK)
            h = _line_h(10.5, 1.45)
            for p in paragraphs:
                self.font("", 10.5, _INK)
                self.para(t(p), h)
                pdf.ln(2.6)
        elif kind == "references":
            refs = [t(r).strip() for r in (section.references or ()) if _clean(r).strip()]
            if not refs:
                self.empty("No references.")
            self.references(refs)
        else:  # an unknown kind still shows whatever it carries
            for a, b in section.fields or ():
                self.font("", 10, _INK)
                self.para(f"{t(a)}: {t(b)}", _line_h(10))
            for p in _paragraphs(section.text):
                self.font("", 10.5, _INK)
                self.para(t(p), _line_h(10.5, 1.45))
        note = _section_note(section)
        if note:
            pdf.ln(1.5)
            self.font("I", 9, _MUTED)
            self.para(t(note), _line_h(9))
        pdf.ln(6)

    def empty(self, message: str) -> None:
        self.font("I", 10, _MUTED)
        self.para(message, _line_h(10))
        self.pdf.ln(1)

    def guidance(self, text: str) -> None:
        pdf = self.pdf
        width = self.body_width
        size = 9
        h = _line_h(size, 1.35)
        self.font("I", size, _MUTED)
        lines = []
        for p in _paragraphs(text):
            lines += self.wrap(p, width - 8, h)
            lines.append("")
        if lines:
            lines.pop()
        lines = ["Guidance"] + lines
        i = 0
        while i < len(lines):
            self.ensure(h * min(3, len(lines) - i) + 4)
            fit = max(1, int((self.space_left() - 4) // h))
            chunk = lines[i:i + fit]
            y = pdf.get_y()
            box_h = len(chunk) * h + 4
            pdf.set_fill_color(*_GUIDE_FILL)
            pdf.rect(_MARGIN, y, width, box_h, style="F")
            pdf.set_fill_color(*_RULE)
            pdf.rect(_MARGIN, y, 1.0, box_h, style="F")
            for j, line in enumerate(chunk):
                if i + j == 0:
                    self.font("B", size, _MUTED)
                else:
                    self.font("I", size, _MUTED)
                self.line_at(_MARGIN + 5, y + 2 + j * h, width - 8, h, line)
            i += len(chunk)
            pdf.set_xy(_MARGIN, y + box_h)
            if i < len(lines):
                self.new_page()
        pdf.ln(4)

    def references(self, refs: list[str]) -> None:
        pdf = self.pdf
        indent = 6.0
        h = _line_h(10, 1.35)
        width = self.body_width
        for ref in refs:
            self.font("", 10, _INK)
            lines: list[str] = []
            for part in ref.split("\n"):
                lines += self.wrap(part, width - indent, h)
            for i, line in enumerate(lines):
                if self.space_left() < h:
                    self.new_page()
                y = pdf.get_y()
                self.line_at(_MARGIN + (indent if i else 0), y, width - indent, h, line)
                pdf.set_xy(_MARGIN, y + h)
            pdf.ln(1.6)

    def column_widths(self, columns: list[str], rows: list[list[str]], size: float) -> list[float]:
        self.font("B", size)
        return _column_widths(columns, rows, self.body_width, self.pdf.get_string_width,
                              pad=2 * 1.8 + 0.5, cap=40.0)

    def table(self, columns: list[str], rows: list[list[str]], widths: list[float], *,
              size: float, label_column: bool = False) -> None:
        """A real table: wrapped cells, header repeated on each page, tall rows split across pages."""
        pdf = self.pdf
        pad_x, pad_y = 1.8, 1.3
        h = _line_h(size, 1.3)

        def wrap_row(cells, header=False):
            out = []
            for j, text in enumerate(cells):
                bold = header or (label_column and j == 0)
                self.font("B" if bold else "", size)
                out.append(self.wrap(text, widths[j] - 2 * pad_x, h))
            return out

        header_lines = wrap_row(columns, header=True) if columns else None
        header_h = (max(len(c) for c in header_lines) * h + 2 * pad_y) if header_lines else 0.0

        def draw(cells_lines, start, count, kind, zebra):
            y = pdf.get_y()
            height = count * h + 2 * pad_y
            x = _MARGIN
            pdf.set_draw_color(*_RULE)
            pdf.set_line_width(0.2)
            for j, lines in enumerate(cells_lines):
                if kind == "header":
                    pdf.set_fill_color(*_HEAD_FILL)
                    style = "DF"
                elif label_column and j == 0:
                    pdf.set_fill_color(*_LABEL_FILL)
                    style = "DF"
                elif zebra:
                    pdf.set_fill_color(*_ZEBRA)
                    style = "DF"
                else:
                    style = "D"
                pdf.rect(x, y, widths[j], height, style=style)
                if kind == "header":
                    self.font("B", size, (255, 255, 255))
                elif label_column and j == 0:
                    self.font("B", size, _INK)
                else:
                    self.font("", size, _INK)
                for i, line in enumerate(lines[start:start + count]):
                    self.line_at(x + pad_x, y + pad_y + i * h, widths[j] - 2 * pad_x, h, line)
                x += widths[j]
            pdf.set_xy(_MARGIN, y + height)

        def page_break():
            self.new_page()
            if header_lines:
                draw(header_lines, 0, max(len(c) for c in header_lines), "header", False)

        if header_lines:
            self.ensure(header_h + h * 2 + 2 * pad_y)
            draw(header_lines, 0, max(len(c) for c in header_lines), "header", False)
        page_body = pdf.page_break_trigger - pdf.t_margin - header_h
        for r, row in enumerate(rows):
            cells = wrap_row(row)
            total = max(len(c) for c in cells)
            start = 0
            while start < total:
                fit = int((self.space_left() - 2 * pad_y) // h)
                remaining = total - start
                full = int((page_body - 2 * pad_y) // h)
                if remaining <= fit:
                    count = remaining
                elif fit < 2 or (start == 0 and remaining <= full and fit < remaining):
                    # Move a row that fits on a page to the next page rather than split it.
                    if pdf.get_y() <= pdf.t_margin + header_h + 0.5:
                        count = max(1, min(fit, remaining))  # already at the top: split anyway
                    else:
                        page_break()
                        continue
                else:
                    count = fit
                draw(cells, start, count, "row", r % 2 == 1 and not label_column)
                start += count
                if start < total:
                    page_break()
        pdf.ln(2)


def to_pdf(doc: ExportDocument) -> bytes:
    """The write-up as an A4 PDF (bytes)."""
    return _PdfWriter(doc).render()


# --------------------------------------------------------------------------------------------
# DOCX

def _docx_modules():
    import docx
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor
    return docx, WD_ORIENT, WD_SECTION, WD_TABLE_ALIGNMENT, WD_TAB_ALIGNMENT, OxmlElement, qn, Mm, Pt, RGBColor


def to_docx(doc: ExportDocument) -> bytes:
    """The write-up as a Word document (bytes)."""
    (docx, WD_ORIENT, WD_SECTION, WD_TABLE_ALIGNMENT, WD_TAB_ALIGNMENT, OxmlElement, qn,
     Mm, Pt, RGBColor) = _docx_modules()
    accent = RGBColor(*_ACCENT)
    muted = RGBColor(*_MUTED)

    document = docx.Document()
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 24), ("Heading 1", 15)):
        styles[name].font.color.rgb = accent
        styles[name].font.size = Pt(size)
    styles["Footer"].paragraph_format.tab_stops.clear_all()  # only the right tab added below

    def set_page(section, landscape: bool):
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        w, h = Mm(210), Mm(297)
        section.page_width, section.page_height = (h, w) if landscape else (w, h)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Mm(20))
        section.footer_distance = Mm(10)

    def text_width(section):
        return section.page_width - section.left_margin - section.right_margin

    def shade(cell, rgb):
        tc_pr = cell._tc.get_or_add_tcPr()
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:color"), "auto")
        shd.set(qn("w:fill"), "%02X%02X%02X" % rgb)
        tc_pr.append(shd)

    def set_cell(cell, text, *, bold=False, size=None, color=None):
        cell.text = ""
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = Pt(0)
        parts = text.split("\n\n") if text else [""]
        for k, part in enumerate(parts):
            p = paragraph if k == 0 else cell.add_paragraph()
            p.paragraph_format.space_after = Pt(0 if k == len(parts) - 1 else 4)
            run = p.add_run(part)  # python-docx turns "\n" into a line break
            run.bold = bold
            if size:
                run.font.size = Pt(size)
            if color is not None:
                run.font.color.rgb = color

    def repeat_header(row):
        tr_pr = row._tr.get_or_add_trPr()
        el = OxmlElement("w:tblHeader")
        el.set(qn("w:val"), "true")
        tr_pr.append(el)

    def set_widths(table, widths):
        # Roomier cells than Word's default: 1 mm above and below, 1.6 mm at the sides.
        tbl_pr = table._tbl.tblPr
        margins = OxmlElement("w:tblCellMar")
        for side, twips in (("top", 57), ("left", 91), ("bottom", 57), ("right", 91)):
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:w"), str(twips))
            el.set(qn("w:type"), "dxa")
            margins.append(el)
        tbl_pr.append(margins)
        table.autofit = False
        for row in table.rows:
            for j, cell in enumerate(row.cells):
                cell.width = widths[j]
        for j, col in enumerate(table.columns):
            col.width = widths[j]

    def label_table(rows, section, *, bold_first_value=False):
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        total = text_width(section)
        label_w = int(total * 0.3)
        for i, (label, value) in enumerate(rows):
            cells = table.add_row().cells
            set_cell(cells[0], label, bold=True, size=10)
            shade(cells[0], _LABEL_FILL)
            set_cell(cells[1], value or "—", size=10, bold=bold_first_value and i == 0)
        set_widths(table, [label_w, total - label_w])
        return table

    def note_paragraph(text):
        p = document.add_paragraph()
        p.paragraph_format.space_before = Pt(4)
        run = p.add_run(text)
        run.italic = True
        run.font.size = Pt(9)
        run.font.color.rgb = muted

    section0 = document.sections[0]
    set_page(section0, False)

    footer_label = f"{' '.join(_clean(doc.participant).split())} · {' '.join(_clean(doc.title).split())}"

    def build_footer(section):
        """Participant and title on the left, "Page n of m" (Word fields) on the right."""
        section.footer.is_linked_to_previous = False
        paragraph = section.footer.paragraphs[0]
        for child in list(paragraph._p):
            if child.tag != qn("w:pPr"):
                paragraph._p.remove(child)
        paragraph.paragraph_format.tab_stops.add_tab_stop(text_width(section), WD_TAB_ALIGNMENT.RIGHT)

        def footer_run(text):
            run = paragraph.add_run(text)
            run.font.size = Pt(8)
            run.font.color.rgb = muted

        def footer_field(instr):
            fld = OxmlElement("w:fldSimple")
            fld.set(qn("w:instr"), instr)
            r = OxmlElement("w:r")
            r_pr = OxmlElement("w:rPr")
            color = OxmlElement("w:color")
            color.set(qn("w:val"), "%02X%02X%02X" % _MUTED)
            r_pr.append(color)
            sz = OxmlElement("w:sz")
            sz.set(qn("w:val"), "16")
            r_pr.append(sz)
            r.append(r_pr)
            t = OxmlElement("w:t")
            t.text = "1"
            r.append(t)
            fld.append(r)
            paragraph._p.append(fld)

        footer_run(footer_label + "\t")
        footer_run("Page ")
        footer_field("PAGE")
        footer_run(" of ")
        footer_field("NUMPAGES")

    build_footer(section0)

    # Title block
    programme = document.add_paragraph()
    run = programme.add_run(_clean(doc.programme))
    run.bold = True
    run.font.size = Pt(10)
    run.font.color.rgb = accent
    programme.paragraph_format.space_after = Pt(2)
    document.add_heading(_clean(doc.title), level=0)
    label_table(_title_rows(doc), section0, bold_first_value=True)
    document.add_paragraph()

    props = document.core_properties
    props.title = f"{_clean(doc.title)} – {_clean(doc.participant)}"[:250]
    props.author = _clean(doc.participant)[:250]
    props.subject = _clean(doc.programme)[:250]
    props.comments = ""
    props.last_modified_by = "NPQ LTI tool"

    current = section0
    landscape = False
    for section in doc.sections or ():
        columns, rows = _table_shape(section) if section.kind == "table" else ([], [])
        wide = len(columns) >= 6
        if wide != landscape:
            current = document.add_section(WD_SECTION.NEW_PAGE)
            set_page(current, wide)
            build_footer(current)
            landscape = wide
        document.add_heading(_clean(section.title), level=1)
        if section.guidance and _clean(section.guidance).strip():
            for k, para in enumerate(_paragraphs(section.guidance)):
                p = document.add_paragraph()
                if k == 0:
                    lead = p.add_run("Guidance: ")
                    lead.bold = True
                    lead.font.size = Pt(9)
                    lead.font.color.rgb = muted
                run = p.add_run(para)
                run.italic = True
                run.font.size = Pt(9)
                run.font.color.rgb = muted
        if section.kind == "fields":
            items = [(_clean(a), _clean(b)) for a, b in (section.fields or ())]
            if items:
                label_table(items, current)
            else:
                note_paragraph("Nothing entered.")
        elif section.kind == "table":
            if columns:
                n = len(columns)
                size = 10 if n <= 3 else 9 if n <= 5 else 8
                table = document.add_table(rows=1, cols=n)
                table.style = "Table Grid"
                for j, label in enumerate(columns):
                    cell = table.rows[0].cells[j]
                    set_cell(cell, label, bold=True, size=size, color=RGBColor(255, 255, 255))
                    shade(cell, _HEAD_FILL)
                repeat_header(table.rows[0])
                for row in rows:
                    cells = table.add_row().cells
                    for j, value in enumerate(row):
                        set_cell(cells[j], value, size=size)
                total_pt = text_width(current) / 12700  # EMU to points
                widths = _column_widths(columns, rows, total_pt, lambda word: len(word) * size * 0.64,
                                        pad=14.0, cap=110.0)
                set_widths(table, [Pt(w) for w in widths])
            if not rows:
                note_paragraph("No rows entered.")
        elif section.kind == "text":
            paragraphs = _paragraphs(section.text)
            for para in paragraphs:
                document.add_paragraph(para)
            if not paragraphs:
                note_paragraph("No text entered.")
        elif section.kind == "references":
            refs = [_clean(r).strip() for r in (section.references or ()) if _clean(r).strip()]
            for ref in refs:
                p = document.add_paragraph(ref)
                p.paragraph_format.left_indent = Mm(8)
                p.paragraph_format.first_line_indent = Mm(-8)
                p.paragraph_format.space_after = Pt(4)
            if not refs:
                note_paragraph("No references.")
        else:
            for a, b in section.fields or ():
                document.add_paragraph(f"{_clean(a)}: {_clean(b)}")
            for para in _paragraphs(section.text):
                document.add_paragraph(para)
        note = _section_note(section)
        if note:
            note_paragraph(note)

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
