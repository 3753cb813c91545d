"""Knowledge checks as a test of understanding: each person sees the options in their own stable
order, and a programme's attempts policy decides how many submissions count, which score goes to
the gradebook and when correctness is revealed.

Answers are stored as the option's index in the pack (as they always were), whatever order the
page showed, so scoring and feedback never depend on the shuffle and older answers still score."""
from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from typing import Optional

from flask import current_app

from ..content import Activity, Programme
from ..models import ActivityWork


def option_order(person_id: int, activity: Activity, question_id: str, count: int) -> list[int]:
    """The pack indexes of a question's options in the order this person sees them: seeded by an
    HMAC of the person and the question, so it is the same on every visit and differs between people."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    seed = hmac.new(key, f"option-order:{person_id}:{activity.ref}:{question_id}".encode(), hashlib.sha256).digest()
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return order


def shuffled_options(person_id: int, activity: Activity) -> dict[str, list[tuple[int, object]]]:
    """For each choice question: (pack index, option) pairs in this person's order."""
    return {q.id: [(i, q.options[i]) for i in option_order(person_id, activity, q.id, len(q.options))]
            for q in activity.questions if q.type == "choice"}


@dataclass(frozen=True)
class Policy:
    attempts: Optional[int]  # None: unlimited
    score: str  # "best" or "latest": the submission whose score goes to the gradebook
    feedback: str  # "after_last_attempt" or "after_each_attempt"

    @classmethod
    def of(cls, programme: Programme) -> "Policy":
        raw = programme.settings.get("knowledge_checks") or {}
        return cls(raw.get("attempts"), raw.get("score", "best"), raw.get("feedback", "after_each_attempt"))


@dataclass(frozen=True)
class AttemptState:
    policy: Policy
    used: int
    best: Optional[float]
    latest: Optional[float]
    full_marks: bool

    @property
    def left(self) -> Optional[int]:
        return None if self.policy.attempts is None else max(self.policy.attempts - self.used, 0)

    @property
    def exhausted(self) -> bool:
        return self.left == 0

    @property
    def gradebook_score(self) -> Optional[float]:
        return self.best if self.policy.score == "best" else self.latest

    @property
    def show_feedback(self) -> bool:
        """Correctness is shown once nothing more can be gained by it: after the last attempt, or
        once every answer is right. Before then the participant sees only their total, so a retake
        measures what they understand rather than which options they were told were wrong."""
        if not self.used:
            return False
        return self.policy.feedback == "after_each_attempt" or self.exhausted or self.full_marks


def attempt_state(programme: Programme, activity: Activity, work: Optional[ActivityWork]) -> AttemptState:
    submissions = list(work.submissions) if work is not None else []
    scores = [s.score for s in submissions if s.score is not None]
    return AttemptState(
        policy=Policy.of(programme), used=len(submissions),
        best=max(scores) if scores else None, latest=scores[-1] if scores else None,
        full_marks=bool(scores) and max(scores) >= (activity.max_score or 0),
    )


def refusal(state: AttemptState) -> Optional[str]:
    """Why another submission cannot be taken, in the participant's words; None if it can."""
    if not state.exhausted:
        return None
    tries = state.policy.attempts
    which = "best" if state.policy.score == "best" else "last"
    return (f"You have used all {tries} attempt{'s' if tries != 1 else ''} at this knowledge check, so this "
            f"submission was not recorded. Your {which} score, {state.gradebook_score or 0:g}, is the one in your "
            "course's gradebook. Your answers are kept as a draft; ask your tutor if you think you need another "
            "attempt.")
