"""The feedback text a released rubric mark carries to the gradebook (grades/feedback.py): the
outcome, each criterion's level and score, and the comments, within the platforms' limits."""
from __future__ import annotations

from lti_tool.content import load_programmes
from lti_tool.grades.feedback import GRADEBOOK_COMMENT_LIMIT, SHORTENED_NOTE, rubric_feedback

from .test_content import PACKS

RUBRIC = load_programmes(PACKS)["NPQSL"].rubrics["project-risk"]


def _levels(index: int) -> dict:
    return {c.id: index for c in RUBRIC.criteria}


def test_feedback_names_outcome_every_criterion_level_score_and_comments():
    first = RUBRIC.criteria[0]
    text = rubric_feedback(RUBRIC, outcome="pass", total=71, levels=_levels(2),
                           comments={first.id: "Clear link to the SDP priority."}, overall="A careful register.")
    lines = text.split("\n")
    assert lines[0] == "Pass: 71 out of 100."
    assert lines[1] == f"{first.title}: Secure, 7 of 10. Clear link to the SDP priority."
    for criterion, line in zip(RUBRIC.criteria, lines[1:]):
        level = criterion.levels[2]
        assert line.startswith(f"{criterion.title}: {level.label}, {level.points:g} of {criterion.max_points:g}.")
    assert lines[-1] == "Overall: A careful register."
    assert len(lines) == len(RUBRIC.criteria) + 2


def test_not_yet_passed_and_no_comments():
    text = rubric_feedback(RUBRIC, outcome="fail", total=20, levels=_levels(1), comments={}, overall=None)
    assert text.startswith("Not yet passed: 20 out of 100.\n") and "Overall" not in text


def test_long_comments_are_shortened_to_the_limit_and_every_score_is_kept():
    comments = {c.id: "Detailed comment. " * 400 for c in RUBRIC.criteria}
    text = rubric_feedback(RUBRIC, outcome="pass", total=100, levels=_levels(3), comments=comments,
                           overall="Overall thoughts. " * 400)
    assert len(text) <= GRADEBOOK_COMMENT_LIMIT
    assert text.endswith(SHORTENED_NOTE) and "…" in text
    for criterion in RUBRIC.criteria:
        assert f"{criterion.title}: Strong, {criterion.max_points:g} of {criterion.max_points:g}." in text
    assert "Overall: Overall thoughts." in text
