"""What a write-up export contains, and its text read the way both writers draw it.

Everything in a document is participant-written text and is drawn literally. Before drawing,
text is cleaned of what neither format can hold (control characters, lone surrogates).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Optional


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


# Text as both formats need it

_BAD_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff\ud800-\udfff]"
)


def clean(value: object) -> str:
    """Any value as text that XML and PDF can hold: NFC, '\\n' line ends, no control chars."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # Lone surrogates (possible in a Python str) would crash any encoder: make them U+FFFD.
    text = _BAD_CHARS.sub(lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else "", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x85", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n").replace("\t", "    ")
    return unicodedata.normalize("NFC", text)


def split_paragraphs(text: Optional[str]) -> list[str]:
    """Paragraphs separated by blank lines; single line breaks inside a paragraph are kept."""
    out = []
    for block in re.split(r"\n[ \t\u00a0]*\n", clean(text)):
        lines = [line.rstrip() for line in block.split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if lines:
            out.append("\n".join(lines))
    return out


def section_note(section: ExportSection) -> str:
    if section.note:
        return clean(section.note)
    if section.kind == "text" and section.word_count is not None:
        return f"Words: {section.word_count:,}"
    return ""


def table_shape(section: ExportSection) -> tuple[list[str], list[list[str]]]:
    """Columns and rows padded to the same width (a ragged row must not crash or lose cells)."""
    columns = [clean(c) for c in (section.columns or ())]
    rows = [[clean(c) for c in (row or ())] for row in (section.rows or ())]
    width = max([len(columns)] + [len(r) for r in rows]) if (columns or rows) else 0
    columns += [""] * (width - len(columns))
    rows = [r + [""] * (width - len(r)) for r in rows]
    return columns, rows


def title_rows(doc: ExportDocument) -> list[tuple[str, str]]:
    rows = [("Participant", clean(doc.participant))]
    if doc.school:
        rows.append(("School", clean(doc.school)))
    rows.append(("Course", clean(doc.course)))
    rows.append(("Version", clean(doc.version_label)))
    rows += [(clean(label), clean(value)) for label, value in (doc.dates or ())]
    return rows
