"""Page numbers of paged lists. Every list that pages reads its page number here, so an address
with a page past the end, a negative page, a number too large for the database or no number at
all gives a normal page, never an error."""
from __future__ import annotations


def page_count(total: int, size: int) -> int:
    """How many pages `total` rows fill, at least one (an empty list still has its page)."""
    return max(1, -(-total // size))


def clamp_page(raw: object, pages: int) -> int:
    """The page asked for, as a number in 1..pages: past the end gives the last page; anything
    that is not a whole number (negative, "abc", empty) the first."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    text = text.lstrip("0") or "0"
    if len(text) > len(str(pages)):  # a huge number: no need to read it to know it is past the end
        return pages
    return min(max(1, int(text)), pages)
