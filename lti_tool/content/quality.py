"""Knowledge checks that test understanding rather than test-taking: where the right answers sit
in the source order, and how often the right answer is simply the longest option.

Participants see the options shuffled, but a pack whose keys sit mostly in one place or are
mostly the longest option is still a weak test (a tutor reading it, a print-out, a participant
who guesses "the long one"), so `flask content check` reports both and fails a pack beyond the
limits below."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .loader import Problem
from .model import Programme, Question
from .report import register_check, register_section

MAX_POSITION_SHARE = 0.40  # no option position may hold more than this share of the keys
MAX_LONGEST_SHARE = 0.40  # at most this share of keys may be the strictly longest option
MIN_KEYS_FOR_LIMITS = 10  # below this, shares say little: reported, not judged
# The page says "Correct." or "Not quite." itself; feedback repeating it reads "Correct. Correct."
_VERDICT = re.compile(r"^\s*(correct|incorrect|not quite|wrong|right|yes|no)\b[.!,:]", re.IGNORECASE)


@dataclass
class CheckQuality:
    code: str
    keys: int = 0
    positions: Counter = field(default_factory=Counter)  # 1-based position of each key -> count
    longest: int = 0  # keys strictly longer than every other option of their question
    verdict_feedback: list[str] = field(default_factory=list)  # "activity q-id option n"

    @property
    def longest_share(self) -> float:
        return self.longest / self.keys if self.keys else 0.0

    def position_share(self, position: int) -> float:
        return self.positions[position] / self.keys if self.keys else 0.0

    @property
    def judged(self) -> bool:
        return self.keys >= MIN_KEYS_FOR_LIMITS

    def failures(self) -> list[str]:
        out = []
        if self.judged:
            for position, count in sorted(self.positions.items()):
                if count / self.keys > MAX_POSITION_SHARE:
                    out.append(f"{count} of {self.keys} correct answers are option {position} "
                               f"({count / self.keys:.0%}; the limit is {MAX_POSITION_SHARE:.0%}): spread them")
            if self.longest_share > MAX_LONGEST_SHARE:
                out.append(f"{self.longest} of {self.keys} correct answers are the longest option "
                           f"({self.longest_share:.0%}; the limit is {MAX_LONGEST_SHARE:.0%}): make distractors "
                           "as full and plausible as the key")
        if self.verdict_feedback:
            out.append(f"{len(self.verdict_feedback)} option feedbacks start with a verdict (first: "
                       f"{self.verdict_feedback[0]}); the page adds 'Correct.' or 'Not quite.' itself")
        return out

    def summary(self) -> str:
        spread = ", ".join(f"option {p}: {self.position_share(p):.0%}" for p in sorted(self.positions))
        note = "" if self.judged or not self.keys else f" (fewer than {MIN_KEYS_FOR_LIMITS} keys: not judged)"
        return (f"{self.code}: knowledge checks: {self.keys} questions; correct answers at {spread or 'none'}; "
                f"longest option is the key in {self.longest_share:.0%}{note}")


def _strictly_longest(question: Question, key: int) -> bool:
    length = len(question.options[key].text)
    return all(length > len(o.text) for i, o in enumerate(question.options) if i != key)


def analyse(programme: Programme) -> CheckQuality:
    quality = CheckQuality(programme.code)
    for activity in programme.activities.values():
        for question in activity.questions:
            key = question.correct_index
            if question.type != "choice" or key is None:
                continue
            quality.keys += 1
            quality.positions[key + 1] += 1
            quality.longest += _strictly_longest(question, key)
            for n, option in enumerate(question.options, 1):
                if _VERDICT.match(option.feedback):
                    quality.verdict_feedback.append(f"{activity.id} {question.id} option {n}")
    return quality


def report_lines(programme: Programme) -> list[str]:
    """This programme's line in `flask content check`."""
    quality = analyse(programme)
    return [quality.summary()] if quality.keys else []


def problems(programme: Programme) -> list[Problem]:
    """A problem for each limit the programme's knowledge checks go beyond (fails the check)."""
    return [Problem(f"{programme.code} modules.yaml", None, "knowledge checks", message)
            for message in analyse(programme).failures()]


register_section(report_lines)
register_check(problems)
