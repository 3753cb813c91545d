"""Export a write-up as PDF or Word (.docx).

Plain Python (no Flask): the caller builds an :class:`ExportDocument` and gets bytes back from
:func:`to_pdf` or :func:`to_docx`. The modules, by responsibility:

- ``document``: what an export contains, and its text cleaned the way both formats need;
- ``layout``: the colours and table column widths both writers share;
- ``fonts``: the PDF's fonts and what to draw for characters no font has;
- ``pdf_page`` and ``pdf``: the PDF writer (fpdf2);
- ``word``: the Word writer (python-docx).

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
from .document import ExportDocument, ExportSection
from .fonts import pdf_fonts_available
from .pdf import to_pdf
from .word import to_docx

__all__ = ["ExportDocument", "ExportSection", "to_pdf", "to_docx", "pdf_fonts_available"]
