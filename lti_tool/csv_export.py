"""Every CSV the tool hands out is written here: one writer, safe to open in a spreadsheet.

Names, emails and titles come from the platform or from participants, so any of them may be a
formula: a cell `=HYPERLINK("http://evil","x")` or `+cmd|' /C calc'!A0` would run when a tutor
opens the file in Excel or LibreOffice. A text cell that starts with = + - @, a tab, CR or LF (or
the full-width ＝ ＋ － ＠ some spreadsheets also read as formulas) is written with a leading
apostrophe, so the spreadsheet shows it as text. Numbers handed over as numbers (int, float) are
written as they are: a negative number is a number, not a formula, and stays summable. A number
that arrives as text ("-5") is text and is neutralised like any other text.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Iterable, Sequence, Union

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
Cell = Union[str, int, float, None]


def safe_cell(value: Cell) -> Union[str, int, float]:
    """The cell as written: numbers as numbers, text that a spreadsheet would run made plain text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Response:
    """A CSV download: UTF-8 with a BOM (so Excel reads accented names right), as an attachment
    with a plain filename, kept out of shared and browser caches (it lists people)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-.") or "export.csv"
    return Response("\ufeff" + csv_text(header, rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})
