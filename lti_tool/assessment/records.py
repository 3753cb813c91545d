"""Special consideration, malpractice and appeals on an assessment attempt: a tutor or course
admin records one, then decides it (upheld or not, with reasons). An upheld decision acts on the
attempt, so the outcomes report follows it:
- appeal upheld: the outcome is reopened for a re-mark (the earlier marks are kept in the audit
  trail; the released outcome is withdrawn from the gradebook until the re-mark is released);
- malpractice upheld: the attempt is voided (a released outcome is then retracted from DfE);
- special consideration upheld: the attempt is discounted, so the participant sits the next
  window and it is not counted as an attempt.
Each step is in the assessment's audit trail and the tool's audit log (lti_tool.audit)."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select

from .. import audit
from ..db import db, utcnow
from ..grades.outbox import enqueue_score
from ..lti.context import LaunchContext
from .models import (
    APPEAL, FAILED, MALPRACTICE, NOT_UPHELD, OPEN, PASSED, RECORD_KINDS, SPECIAL_CONSIDERATION, SUBMITTED, UPHELD,
    VOIDED, AssessmentAttempt, AssessmentRecord,
)
from .pack import AssessmentConfig
from .service import REASON_LIMIT, SOURCE_OUTCOME, AssessmentError, record, void

KIND_LABELS = {SPECIAL_CONSIDERATION: "Special consideration", MALPRACTICE: "Malpractice", APPEAL: "Appeal"}
EFFECT_LABELS = {"remark": "Outcome reopened for a re-mark", "void": "Attempt voided",
                 "discount": "Attempt not counted; another attempt allowed", "none": "No change to the attempt"}


def _text(value: Optional[str], what: str) -> str:
    value = (value or "").replace("\x00", "").strip()
    if not value:
        raise AssessmentError(f"Give the {what}: it is kept in the audit trail.")
    if len(value) > REASON_LIMIT:
        raise AssessmentError(f"The {what} is longer than {REASON_LIMIT:,} characters.")
    return value


def for_course(course_id: int) -> list[AssessmentRecord]:
    return list(db().scalars(select(AssessmentRecord).where(AssessmentRecord.course_id == course_id)
                             .order_by(AssessmentRecord.raised_at.desc(), AssessmentRecord.id.desc())))


def for_attempt(attempt: AssessmentAttempt) -> list[AssessmentRecord]:
    return list(db().scalars(select(AssessmentRecord).where(AssessmentRecord.attempt_id == attempt.id)
                             .order_by(AssessmentRecord.id)))


def raise_record(attempt: AssessmentAttempt, kind: str, summary: str, actor_id: int) -> AssessmentRecord:
    if kind not in RECORD_KINDS:
        raise AssessmentError("Choose special consideration, malpractice or an appeal.")
    summary = _text(summary, "summary of the case")
    if kind == APPEAL and attempt.outcome not in (PASSED, FAILED):
        raise AssessmentError("An appeal is against a released outcome; this attempt has none.")
    if kind == MALPRACTICE and attempt.status != SUBMITTED:
        raise AssessmentError("Malpractice is recorded against a submitted response; nothing has been submitted.")
    if attempt.outcome == VOIDED:
        raise AssessmentError("This attempt was voided; there is nothing left to decide about it.")
    rec = AssessmentRecord(course_id=attempt.course_id, attempt_id=attempt.id, kind=kind, summary=summary,
                           status=OPEN, raised_by_id=actor_id, raised_at=utcnow())
    db().add(rec)
    db().flush()
    record(attempt.course_id, actor_id, f"{KIND_LABELS[kind].lower()} recorded", attempt=attempt, record=rec.id,
           summary=summary[:500])
    audit.record("assessment.record.raise", target=rec, actor=f"person:{actor_id}",
                 detail={"kind": kind, "attempt_id": attempt.id})
    return rec


def decide(ctx: LaunchContext, cfg: AssessmentConfig, rec: AssessmentRecord, upheld: bool, reason: str) -> str:
    """Decide an open record; returns what it did to the attempt (an EFFECT_LABELS key)."""
    if rec.status != OPEN:
        raise AssessmentError("This record has already been decided.")
    reason = _text(reason, "reason for the decision")
    attempt = rec.attempt
    effect = _apply(ctx, cfg, rec, attempt, reason) if upheld else "none"
    rec.status, rec.decision_reason, rec.effect = (UPHELD if upheld else NOT_UPHELD), reason, effect
    rec.decided_by_id, rec.decided_at = ctx.person_id, utcnow()
    record(attempt.course_id, ctx.person_id, f"{KIND_LABELS[rec.kind].lower()} {rec.status.replace('-', ' ')}",
           attempt=attempt, record=rec.id, effect=effect, reason=reason[:500])
    audit.record("assessment.record.decide", target=rec, actor=f"person:{ctx.person_id}",
                 detail={"kind": rec.kind, "attempt_id": attempt.id, "decision": rec.status, "effect": effect})
    return effect


def _apply(ctx: LaunchContext, cfg: AssessmentConfig, rec: AssessmentRecord, attempt: AssessmentAttempt,
           reason: str) -> str:
    if attempt.outcome == VOIDED:
        raise AssessmentError("This attempt was voided since the record was made; decide it as not upheld.")
    if rec.kind == MALPRACTICE:
        void(ctx, cfg, attempt, f"Malpractice: {reason}")
        return "void"
    if rec.kind == APPEAL:
        _reopen_for_remark(ctx, cfg, attempt, reason)
        return "remark"
    if attempt.outcome == PASSED:
        raise AssessmentError("This attempt passed; another attempt cannot be allowed in its place.")
    attempt.discounted = True
    return "discount"


def _reopen_for_remark(ctx: LaunchContext, cfg: AssessmentConfig, attempt: AssessmentAttempt, reason: str) -> None:
    """Withdraw the released outcome and clear the marks so a marker judges the response afresh; the
    earlier marks stay in the audit trail."""
    if attempt.outcome not in (PASSED, FAILED):
        raise AssessmentError("An appeal is against a released outcome; this attempt has none.")
    earlier = [{"kind": m.kind, "outcome": m.outcome, "marker": m.marker_id, "justification": m.justification[:500]}
               for m in attempt.marks]
    record(attempt.course_id, ctx.person_id, "outcome reopened for a re-mark", attempt=attempt,
           previous_outcome=attempt.outcome, marks=earlier)
    for mark in list(attempt.marks):
        attempt.marks.remove(mark)
        db().delete(mark)
    attempt.outcome, attempt.released_at, attempt.second_marking = None, None, None
    enqueue_score(ctx, resource_id=cfg.ref, label=cfg.title, score_given=None, score_maximum=1,
                  activity_progress="Completed", grading_progress="PendingManual",
                  comment=f"Window {attempt.window.number}: appeal upheld, the response is being re-marked. "
                          f"{reason}"[:4000],
                  source=SOURCE_OUTCOME, source_id=attempt.id, person_id=attempt.person_id)
