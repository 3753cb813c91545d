"""The PDF writer (fpdf2): an A4 document with a title block, sections, real tables and a footer.

Text is drawn with ``markdown=False`` so nothing participants write is read as markup. Arabic
and other complex scripts are shaped when ``uharfbuzz`` is installed.
"""
from __future__ import annotations

from typing import Optional

from .document import (ExportDocument, ExportSection, clean, section_note, split_paragraphs,
                       table_shape, title_rows)
from .fonts import FONT, TOTAL_ALIAS, Glyphs, primary_font_files
from .layout import ACCENT, GUIDE_FILL, HEAD_FILL, INK, LABEL_FILL, MUTED, RULE, ZEBRA, column_widths
from .pdf_page import MARGIN, has_complex, line_h, make_pdf_class, page_orientation


class _PdfWriter:
    def __init__(self, doc: ExportDocument):
        self.doc = doc
        self.glyphs = Glyphs(doc)
        pdf = make_pdf_class()(orientation="P", unit="mm", format="A4")
        self.pdf = pdf
        for style, path in primary_font_files().items():
            pdf.add_font(FONT, style, str(path))
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
        pdf.alias_nb_pages(TOTAL_ALIAS)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
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
        pdf.footer_shaping = self.can_shape and has_complex(pdf.footer_text)

    # -- text primitives -----------------------------------------------------------------

    def _shape_for(self, text: str) -> None:
        want = self.can_shape and has_complex(text)
        if want != self.glyphs.shaping:
            self.pdf.set_text_shaping(want)
            self.glyphs.shaping = want

    def font(self, style: str = "", size: float = 10.5, color=INK) -> None:
        self.pdf.set_font(FONT, style, size)
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
        self.pdf.add_page(orientation=orientation or page_orientation(self.pdf))

    def ensure(self, height: float) -> None:
        if self.space_left() < height:
            self.new_page()

    # -- document ------------------------------------------------------------------------

    def render(self) -> bytes:
        pdf, t = self.pdf, self.glyphs.text
        pdf.add_page()
        self.title_block()
        for section in self.doc.sections or ():
            wide = section.kind == "table" and len(table_shape(section)[0]) >= 6
            want = "L" if wide else "P"
            if page_orientation(pdf) != want:
                self.new_page(want)
            self.section(section)
        return bytes(pdf.output())

    def title_block(self) -> None:
        pdf, t, doc = self.pdf, self.glyphs.text, self.doc
        # A band of colour at the top of the first page.
        pdf.set_fill_color(*ACCENT)
        pdf.rect(0, 0, pdf.w, 5, style="F")
        pdf.set_y(MARGIN + 2)
        self.font("B", 9, ACCENT)
        self.para(t(doc.programme), line_h(9))
        pdf.ln(1.5)
        self.font("B", 22, INK)
        self.para(t(doc.title), line_h(22, 1.2))
        pdf.ln(4)
        rows = title_rows(doc)
        label_w = 34.0
        width = self.body_width
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.2)
        pdf.line(MARGIN, pdf.get_y(), MARGIN + width, pdf.get_y())
        pdf.ln(2)
        h = line_h(10)
        for label, value in rows:
            label, value = t(label), t(value)
            self.font("", 10, MUTED)
            label_lines = self.wrap(label, label_w - 3, h)
            self.font("B" if label == "Participant" else "", 10, INK)
            value_lines = self.wrap(value or "—", width - label_w, h)
            needed = max(len(label_lines), len(value_lines)) * h + 1.2
            self.ensure(needed)
            y = pdf.get_y()
            self.font("", 10, MUTED)
            for i, line in enumerate(label_lines):
                self.line_at(MARGIN, y + i * h, label_w - 3, h, line)
            self.font("B" if label == "Participant" else "", 10, INK)
            for i, line in enumerate(value_lines):
                self.line_at(MARGIN + label_w, y + i * h, width - label_w, h, line)
            pdf.set_xy(MARGIN, y + needed)
        pdf.ln(1)
        pdf.line(MARGIN, pdf.get_y(), MARGIN + width, pdf.get_y())
        pdf.ln(6)

    def section(self, section: ExportSection) -> None:
        pdf, t = self.pdf, self.glyphs.text
        title = t(section.title)
        # Keep the heading with what follows it.
        self.ensure(30)
        pdf.start_section(" ".join(title.split())[:200] or "Section", level=0)
        self.font("B", 14, ACCENT)
        self.para(title, line_h(14, 1.25))
        pdf.set_draw_color(*ACCENT)
        pdf.set_line_width(0.4)
        y = pdf.get_y() + 0.8
        pdf.line(MARGIN, y, MARGIN + self.body_width, y)
        pdf.set_y(y + 3)
        if section.guidance and clean(section.guidance).strip():
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
            columns, rows = table_shape(section)
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
            paragraphs = split_paragraphs(section.text)
            if not paragraphs:
                self.empty("No text entered.")
            self.font("", 10.5, INK)
            h = line_h(10.5, 1.45)
            for p in paragraphs:
                self.font("", 10.5, INK)
                self.para(t(p), h)
                pdf.ln(2.6)
        elif kind == "references":
            refs = [t(r).strip() for r in (section.references or ()) if clean(r).strip()]
            if not refs:
                self.empty("No references.")
            self.references(refs)
        else:  # an unknown kind still shows whatever it carries
            for a, b in section.fields or ():
                self.font("", 10, INK)
                self.para(f"{t(a)}: {t(b)}", line_h(10))
            for p in split_paragraphs(section.text):
                self.font("", 10.5, INK)
                self.para(t(p), line_h(10.5, 1.45))
        note = section_note(section)
        if note:
            pdf.ln(1.5)
            self.font("I", 9, MUTED)
            self.para(t(note), line_h(9))
        pdf.ln(6)

    def empty(self, message: str) -> None:
        self.font("I", 10, MUTED)
        self.para(message, line_h(10))
        self.pdf.ln(1)

    def guidance(self, text: str) -> None:
        pdf = self.pdf
        width = self.body_width
        size = 9
        h = line_h(size, 1.35)
        self.font("I", size, MUTED)
        lines = []
        for p in split_paragraphs(text):
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
            pdf.set_fill_color(*GUIDE_FILL)
            pdf.rect(MARGIN, y, width, box_h, style="F")
            pdf.set_fill_color(*RULE)
            pdf.rect(MARGIN, y, 1.0, box_h, style="F")
            for j, line in enumerate(chunk):
                if i + j == 0:
                    self.font("B", size, MUTED)
                else:
                    self.font("I", size, MUTED)
                self.line_at(MARGIN + 5, y + 2 + j * h, width - 8, h, line)
            i += len(chunk)
            pdf.set_xy(MARGIN, y + box_h)
            if i < len(lines):
                self.new_page()
        pdf.ln(4)

    def references(self, refs: list[str]) -> None:
        pdf = self.pdf
        indent = 6.0
        h = line_h(10, 1.35)
        width = self.body_width
        for ref in refs:
            self.font("", 10, INK)
            lines: list[str] = []
            for part in ref.split("\n"):
                lines += self.wrap(part, width - indent, h)
            for i, line in enumerate(lines):
                if self.space_left() < h:
                    self.new_page()
                y = pdf.get_y()
                self.line_at(MARGIN + (indent if i else 0), y, width - indent, h, line)
                pdf.set_xy(MARGIN, y + h)
            pdf.ln(1.6)

    def column_widths(self, columns: list[str], rows: list[list[str]], size: float) -> list[float]:
        self.font("B", size)
        return column_widths(columns, rows, self.body_width, self.pdf.get_string_width,
                             pad=2 * 1.8 + 0.5, cap=40.0)

    def table(self, columns: list[str], rows: list[list[str]], widths: list[float], *,
              size: float, label_column: bool = False) -> None:
        """A real table: wrapped cells, header repeated on each page, tall rows split across pages."""
        pdf = self.pdf
        pad_x, pad_y = 1.8, 1.3
        h = line_h(size, 1.3)

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
            x = MARGIN
            pdf.set_draw_color(*RULE)
            pdf.set_line_width(0.2)
            for j, lines in enumerate(cells_lines):
                if kind == "header":
                    pdf.set_fill_color(*HEAD_FILL)
                    style = "DF"
                elif label_column and j == 0:
                    pdf.set_fill_color(*LABEL_FILL)
                    style = "DF"
                elif zebra:
                    pdf.set_fill_color(*ZEBRA)
                    style = "DF"
                else:
                    style = "D"
                pdf.rect(x, y, widths[j], height, style=style)
                if kind == "header":
                    self.font("B", size, (255, 255, 255))
                elif label_column and j == 0:
                    self.font("B", size, INK)
                else:
                    self.font("", size, INK)
                for i, line in enumerate(lines[start:start + count]):
                    self.line_at(x + pad_x, y + pad_y + i * h, widths[j] - 2 * pad_x, h, line)
                x += widths[j]
            pdf.set_xy(MARGIN, y + height)

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
