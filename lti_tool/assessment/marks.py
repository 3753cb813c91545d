"""Marking the case-study assessment: holistic pass/fail judgements with their justification,
second marking of every fail and of a sample of passes (blind until the second mark is in), the
agreed outcome, and its release to the participant and the gradebook."""
from __future__ import annotations

import hashlib
from typing import Any, Optional

from flask import current_app
from sqlalchemy import and_, select

from ..db import db, utcnow
from ..grades.outbox import enqueue_score
from ..lti.context import LaunchContext
from ..models import GradeOutbox
from .models import (
    AGREED, FAIL, FAILED, FIRST, PASS, PASSED, SECOND, SECOND_FOR_FAIL, SECOND_REQUESTED, SECOND_SAMPLED, SUBMITTED,
    VOIDED, AssessmentAttempt, AssessmentMark,
)
from .pack import AssessmentConfig
from .service import JUSTIFICATION_LIMIT, SOURCE_OUTCOME, AssessmentError, final_mark, programme_of, record


def _draw(attempt: AssessmentAttempt) -> float:
    """A fixed pseudo-random number in [0, 1) for this attempt: markers cannot predict it, and
    saving a mark again never re-rolls it."""
    key = f"{current_app.config['SECRET_KEY']}:assessment-sample:{attempt.id}".encode()
    return int(hashlib.sha256(key).hexdigest()[:8], 16) / 2 ** 32


def _first_pass_of_marker(attempt: AssessmentAttempt, marker_id: int) -> bool:
    """No earlier pass by this first marker in this window has been sampled yet."""
    sampled = db().scalar(
        select(AssessmentAttempt.id).join(AssessmentMark, and_(AssessmentMark.attempt_id == AssessmentAttempt.id,
                                                               AssessmentMark.kind == FIRST))
        .where(AssessmentAttempt.window_id == attempt.window_id, AssessmentAttempt.id != attempt.id,
               AssessmentAttempt.second_marking == SECOND_SAMPLED, AssessmentMark.marker_id == marker_id).limit(1))
    return sampled is None


def read_mark(cfg: AssessmentConfig, form) -> tuple[str, str, list[str]]:
    outcome = form.get("outcome", "")
    if outcome not in (PASS, FAIL):
        raise AssessmentError("Choose pass or fail.")
    justification = (form.get("justification") or "").strip()
    if not justification:
        raise AssessmentError("Write the justification: say how well the answer applies the framework.")
    if len(justification) > JUSTIFICATION_LIMIT:
        raise AssessmentError(f"The justification is {len(justification):,} characters long; the limit is "
                              f"{JUSTIFICATION_LIMIT:,}.")
    known = programme_of(cfg).statements
    statements = [s for s in dict.fromkeys(form.getlist("statement")) if s in known][:60]
    return outcome, justification, statements


def record_mark(cfg: AssessmentConfig, attempt: AssessmentAttempt, kind: str, marker_id: int, outcome: str,
                justification: str, statements: list[str]) -> AssessmentMark:
    if attempt.status != SUBMITTED:
        raise AssessmentError("Nothing has been submitted to mark.")
    if attempt.outcome == VOIDED:
        raise AssessmentError("This attempt was voided; it is not marked.")
    if attempt.outcome:
        raise AssessmentError("The outcome has been released; it can no longer be changed (void the attempt if it "
                              "must not stand).")
    first, second, agreed = attempt.mark(FIRST), attempt.mark(SECOND), attempt.mark(AGREED)
    if kind == FIRST:
        if first is not None and first.marker_id != marker_id:
            raise AssessmentError(f"The first mark was recorded by {first.marker.display_name}; only they can change it.")
        if second is not None:
            raise AssessmentError("The second marker has marked this attempt; record the agreed outcome instead.")
    elif kind == SECOND:
        if first is None:
            raise AssessmentError("Second marking needs a first mark.")
        if attempt.second_marking is None:
            raise AssessmentError("This attempt does not need second marking.")
        if first.marker_id == marker_id:
            raise AssessmentError("Second marking is by a second marker: someone other than the first marker.")
        if second is not None and second.marker_id != marker_id:
            raise AssessmentError(f"The second mark was recorded by {second.marker.display_name}; only they can "
                                  "change it.")
        if agreed is not None:
            raise AssessmentError("The agreed outcome has been recorded; change that instead.")
    elif kind == AGREED:
        if first is None or second is None:
            raise AssessmentError("The agreed outcome needs both the first and the second mark.")
    else:
        raise AssessmentError("Unknown kind of mark.")
    mark = attempt.mark(kind)
    if mark is None:
        mark = AssessmentMark(attempt_id=attempt.id, marker_id=marker_id, kind=kind, outcome=outcome,
                              justification=justification)
        db().add(mark)
        attempt.marks.append(mark)
    mark.outcome, mark.justification, mark.statements = outcome, justification, statements
    mark.marker_id, mark.updated_at = marker_id, utcnow()
    detail: dict[str, Any] = {"outcome": outcome}
    if kind == FIRST:
        if outcome == FAIL:
            attempt.second_marking = SECOND_FOR_FAIL
        elif attempt.second_marking in (None, SECOND_FOR_FAIL):
            rate = cfg.pass_sample_rate
            sampled = rate > 0 and (_first_pass_of_marker(attempt, marker_id) or _draw(attempt) < rate)
            attempt.second_marking = SECOND_SAMPLED if sampled else None
        detail["second_marking"] = attempt.second_marking
    record(attempt.course_id, marker_id, f"{kind} mark recorded" if kind != AGREED else "agreed outcome recorded",
           attempt=attempt, **detail)
    return mark


def request_second(attempt: AssessmentAttempt, actor_id: int) -> None:
    first = attempt.mark(FIRST)
    if first is None or attempt.outcome:
        raise AssessmentError("Only a first-marked attempt without an outcome can be added to the sample.")
    if attempt.second_marking is None:
        attempt.second_marking = SECOND_REQUESTED
        record(attempt.course_id, actor_id, "added to the second-marking sample", attempt=attempt)


def release(ctx: LaunchContext, cfg: AssessmentConfig, attempt: AssessmentAttempt) -> Optional[GradeOutbox]:
    """The participant sees the outcome; the gradebook gets 1 (passed) or 0 (failed) out of 1,
    with the justification as the comment. A fail enrols them in the next window."""
    if attempt.outcome:
        raise AssessmentError("This outcome has already been released." if attempt.outcome != VOIDED
                              else "This attempt was voided.")
    mark = final_mark(attempt)
    if mark is None:
        if attempt.mark(FIRST) is None:
            raise AssessmentError("Record the first mark before releasing.")
        raise AssessmentError("This attempt is second-marked: the second mark and the agreed outcome come first.")
    attempt.outcome = PASSED if mark.outcome == PASS else FAILED
    attempt.released_at = utcnow()
    record(attempt.course_id, ctx.person_id, "outcome released", attempt=attempt, outcome=attempt.outcome,
           mark=mark.kind)
    label = "Passed" if attempt.outcome == PASSED else "Not passed"
    retake = " (retake)" if attempt.attempt_no > 1 else ""
    comment = f"Case-study assessment, window {attempt.window.number}{retake}: {label}. {mark.justification}"
    return enqueue_score(ctx, resource_id=cfg.ref, label=cfg.title, score_given=1 if attempt.outcome == PASSED else 0,
                         score_maximum=1, activity_progress="Completed", grading_progress="FullyGraded",
                         comment=comment[:4000], source=SOURCE_OUTCOME, source_id=attempt.id,
                         person_id=attempt.person_id)
