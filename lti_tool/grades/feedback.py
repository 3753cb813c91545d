"""The feedback text a released rubric mark carries to the VLE's gradebook (the AGS score's
`comment`): what a teacher reads in Moodle's grader report or Canvas's SpeedGrader, and a
participant under their grade. Plain text, one line per part, within the platforms' limits:

    Pass: 78 out of 100.
    Aim and priorities: Secure, 15 of 20. Clear aim, linked to the school's priorities.
    Evidence: Strong, 20 of 20.
    Overall: An excellent plan.

The outcome and every criterion's level and score always fit; comments are shortened (…) when
the whole would be longer than GRADEBOOK_COMMENT_LIMIT, and the text then says where to read them.
"""
from __future__ import annotations

from typing import Optional

from ..content.model import Rubric

# Moodle keeps the comment as the grade's feedback and Canvas as a submission comment; neither
# documents a small limit, and 4,000 characters stays readable in both.
GRADEBOOK_COMMENT_LIMIT = 4000
SHORTENED_NOTE = "Comments shortened: the full feedback is in the tool."


def points(value: float | None) -> str:
    """A score as people write it: 5 not 5.0, 7.5 as is (also the `points` template filter)."""
    return "" if value is None else f"{float(value):g}"


_points = points


def outcome_line(outcome: Optional[str], total: float, maximum: float) -> str:
    words = "Pass" if outcome == "pass" else "Not yet passed"
    return f"{words}: {_points(total)} out of {_points(maximum)}."


def _criterion_heads(rubric: Rubric, levels: dict) -> list[tuple[str, str]]:
    """(criterion id, "Title: Level, 15 of 20.") for each criterion marked."""
    heads = []
    for criterion in rubric.criteria:
        index = levels.get(criterion.id)
        if not isinstance(index, int) or not 0 <= index < len(criterion.levels):
            continue
        level = criterion.levels[index]
        heads.append((criterion.id, f"{criterion.title}: {level.label}, {_points(level.points)} of "
                                    f"{_points(criterion.max_points)}."))
    return heads


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:max(limit - 1, 0)].rstrip() + "…" if limit > 1 else ""


def _assemble(first: str, heads: list[tuple[str, str]], comments: dict, overall: str, limit: int) -> str:
    lines = [first]
    for criterion_id, head in heads:
        comment = _shorten(comments.get(criterion_id) or "", limit)
        lines.append(f"{head} {comment}".rstrip())
    if overall:
        lines.append("Overall: " + _shorten(overall, limit))
    return "\n".join(lines)


def rubric_feedback(rubric: Rubric, *, outcome: Optional[str], total: float, levels: dict,
                    comments: dict, overall: Optional[str],
                    limit: int = GRADEBOOK_COMMENT_LIMIT) -> str:
    """The gradebook comment for a released rubric mark (see the module docstring)."""
    first = outcome_line(outcome, total, rubric.score_maximum)
    heads = _criterion_heads(rubric, levels or {})
    comments = {k: str(v) for k, v in (comments or {}).items() if v}
    overall = (overall or "").strip()
    whole = _assemble(first, heads, comments, overall, limit)
    if len(whole) <= limit:
        return whole
    # Each comment gets an equal share of what the fixed parts leave.
    fixed = len(_assemble(first, heads, {}, "", limit)) + len(SHORTENED_NOTE) + 1
    pieces = len([h for h in heads if comments.get(h[0])]) + (1 if overall else 0)
    share = max((limit - fixed) // max(pieces, 1) - 12, 0)
    text = _assemble(first, heads, comments, overall, share) + "\n" + SHORTENED_NOTE
    return text[:limit]
