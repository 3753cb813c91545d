"""The fpdf2 page the PDF writer draws on: sizes, the footer, fitting text on a line."""
from __future__ import annotations

import re

from .fonts import FONT, TOTAL_ALIAS
from .layout import MUTED, RULE

_MM_PER_PT = 25.4 / 72
MARGIN = 18.0
_COMPLEX = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\u0900-\u0dff\u0e00-\u0eff"
                      "\u1000-\u109f\u1780-\u17ff]")


def line_h(size_pt: float, leading: float = 1.32) -> float:
    return size_pt * _MM_PER_PT * leading


def has_complex(text: str) -> bool:
    return bool(_COMPLEX.search(text))


def make_pdf_class():
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
            width = self.w - 2 * MARGIN
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(MARGIN, self.h - 13.5, self.w - MARGIN, self.h - 13.5)
            self.set_font(FONT, "", 8)
            self.set_text_color(*MUTED)
            page = f"Page {self.page_no()} of {TOTAL_ALIAS}"
            page_w = self.get_string_width(f"Page {self.page_no()} of 000") + 1
            left = fit_text(self, self.footer_text, width - page_w - 4)
            self.set_x(MARGIN)
            self.cell(width - page_w, 5, left, align="L")
            self.set_x(self.w - MARGIN - page_w)
            self.cell(page_w, 5, page, align="R")

    return _ExportPDF


def page_orientation(pdf) -> str:
    """ "P" or "L" (fpdf2 keeps an enum)."""
    value = getattr(pdf.cur_orientation, "value", pdf.cur_orientation)
    return str(value)[:1].upper()


def fit_text(pdf, text: str, width: float) -> str:
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
