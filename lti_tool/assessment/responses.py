"""A participant's case-study response: what may be saved and when, the word count, what stops a
submission; each draft saved over the version the page was based on, and one submission, however
many tabs send it at the same moment.

Both are conditional UPDATEs (lti_tool.versioned): of two saves based on one version, one is saved
and the other is refused with a conflict, never overwriting it; a submit is the transition from
draft to submitted, made once, so the audit trail and the gradebook hear of it once."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import or_

from .. import dates
from ..db import utcnow
from ..grades.outbox import enqueue_score
from ..lti.context import LaunchContext
from ..versioned import save_over, update_if
from ..wording import Problem, shorten
from .models import DRAFT, SUBMITTED, VOIDED, AssessmentAttempt, AssessmentWindow
from .pack import QUESTION_TEXT_LIMIT, AssessmentConfig, words
from .service import SOURCE_SUBMITTED, AssessmentError, Conflict, record

def clean_answers(cfg: AssessmentConfig, raw: Any) -> dict[str, str]:
    """Keep this assessment's questions only; refuse over-long text rather than cut it."""
    if not isinstance(raw, dict):
        raise AssessmentError("The response could not be read.")
    out: dict[str, str] = {}
    for q in cfg.questions:
        value = raw.get(q.id)
        if value is None:
            continue
        value = (value if isinstance(value, str) else str(value)).replace("\x00", "").replace("\r\n", "\n")
        if len(value) > QUESTION_TEXT_LIMIT:
            raise AssessmentError(f"Your answer to “{q.prompt}” is {len(value):,} characters long, far beyond the word "
                                  f"cap; the most that can be saved is {QUESTION_TEXT_LIMIT:,} characters. Shorten it: "
                                  "your text is still on the page.")
        out[q.id] = value
    return out


def total_words(cfg: AssessmentConfig, answers: dict[str, str]) -> int:
    return sum(words(answers.get(q.id, "")) for q in cfg.questions)


def can_edit(window: AssessmentWindow, attempt: Optional[AssessmentAttempt], now: datetime) -> Optional[str]:
    """None if the participant may work on this window's response now, else why not."""
    if now < window.opens_at:
        return f"The case is released on {dates.format_deadline(window.opens_at)}; you can answer from then."
    if attempt is not None and attempt.outcome == VOIDED:
        return "This attempt was voided; it can no longer be changed."
    if attempt is not None and attempt.status == SUBMITTED:
        return "You have submitted your response; it can no longer be changed."
    return None


def submission_problems(cfg: AssessmentConfig, answers: dict[str, str]) -> list[Problem]:
    out = [Problem(f"Answer question {n}: “{shorten(q.prompt, 90)}”", f"answer-{q.id}")
           for n, q in enumerate(cfg.questions, 1) if not (answers.get(q.id) or "").strip()]
    count = total_words(cfg, answers)
    if count > cfg.word_cap:
        out.append(Problem(f"Your response has {count:,} words; the cap is {cfg.word_cap:,}. "
                           f"Cut {count - cfg.word_cap:,} words to submit.", "word-total"))
    return out


# What may still be changed: a draft of an attempt not voided (can_edit's rules, in SQL).
_OPEN = (AssessmentAttempt.status == DRAFT,
         or_(AssessmentAttempt.outcome.is_(None), AssessmentAttempt.outcome != VOIDED))


class Closed(AssessmentError):
    """The response stopped being editable (submitted, voided) while this request was on its way."""


def _refusal(attempt: AssessmentAttempt) -> Exception:
    """Why a conditional write did not apply, from the attempt as it now stands."""
    blocked = can_edit(attempt.window, attempt, utcnow())
    return Closed(blocked) if blocked else Conflict(attempt)


def save_draft(attempt: AssessmentAttempt, cfg: AssessmentConfig, answers: dict[str, str],
               base_version: Optional[int]) -> AssessmentAttempt:
    """Save the draft over the version the page was based on (None: the version this request read).
    Raises Conflict if another tab or device saved first, Closed if it was submitted or voided."""
    if not save_over(attempt, base_version, {"answers": answers, "word_count": total_words(cfg, answers),
                                             "updated_at": utcnow()}, *_OPEN):
        raise _refusal(attempt)
    return attempt


def submit(ctx: LaunchContext, cfg: AssessmentConfig, attempt: AssessmentAttempt) -> None:
    """Submit the version this request has just saved (its UPDATE holds the row until commit):
    draft -> submitted as a conditional UPDATE, then the audit trail and the gradebook, once."""
    now = utcnow()
    late = now > attempt.deadline()
    if not update_if(attempt, [AssessmentAttempt.version == attempt.version, *_OPEN],
                     {"status": SUBMITTED, "submitted_at": now, "late": late,
                      "word_count": total_words(cfg, attempt.answers)}):
        raise _refusal(attempt)
    record(attempt.course_id, ctx.person_id, "response submitted" + (" late" if late else ""),
           attempt=attempt, words=attempt.word_count, deadline=attempt.deadline().isoformat())
    # The gradebook hears that it waits for marking (no score yet).
    enqueue_score(ctx, resource_id=cfg.ref, label=cfg.title, score_given=None, score_maximum=1,
                  activity_progress="Submitted", grading_progress="PendingManual",
                  comment=("Submitted after the deadline (late)." if late else None),
                  source=SOURCE_SUBMITTED, source_id=attempt.id, submitted_at=now)


def already_submitted(attempt: Optional[AssessmentAttempt], answers: dict[str, str]) -> bool:
    """These very answers stand submitted: submitting them again (a second click, or another tab
    sending the same page at the same moment) only repeats that submission."""
    return (attempt is not None and attempt.status == SUBMITTED and attempt.outcome != VOIDED
            and attempt.answers == answers)
