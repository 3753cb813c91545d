"""Put a score in the outbox, in the caller's transaction; the worker delivers it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from flask import url_for
from sqlalchemy import select

from ..db import db, utcnow
from ..lti.context import LaunchContext
from ..models import GradeOutbox, Person, Placement


def ags_timestamp(when: Optional[datetime] = None) -> str:
    """ISO 8601 with milliseconds and offset, as AGS expects. Each new mark gets a new one."""
    when = (when or utcnow()).astimezone(timezone.utc)
    return when.isoformat(timespec="milliseconds")


def _placement_for(ctx: LaunchContext, item_ref: str) -> Optional[Placement]:
    """The course's link to this item: the launch's own, or another placement of the same item
    (a tutor releasing from the course home still reaches the item's gradebook column)."""
    if ctx.placement_id:
        own = db().get(Placement, ctx.placement_id)
        if own is not None and own.item_ref == item_ref:
            return own
    return db().scalar(select(Placement).where(Placement.course_id == ctx.course_id, Placement.item_ref == item_ref)
                       .order_by(Placement.line_item_url.is_(None), Placement.id).limit(1))


CANVAS_SUBMISSION = "https://canvas.instructure.com/lti/submission"


def canvas_submission(ctx: LaunchContext, submitted_at: Optional[datetime]) -> Optional[dict]:
    """Canvas's AGS submission extension, so SpeedGrader shows the work with its score: a new
    submission (launched from SpeedGrader through the tool) when the person has just submitted,
    otherwise a grade for the submission Canvas already holds. Other platforms are sent nothing."""
    if ctx.services.get("platform_product") != "canvas":
        return None
    if submitted_at is None:
        return {"new_submission": False}
    return {"new_submission": True, "submission_type": "basic_lti_launch",
            "submission_data": url_for("lti.launch", _external=True),
            "submitted_at": ags_timestamp(submitted_at)}


def enqueue_score(ctx: LaunchContext, *, resource_id: str, label: str, score_given: Optional[float],
                  score_maximum: float, activity_progress: str, grading_progress: str,
                  comment: Optional[str] = None, source: str, source_id: Optional[int] = None,
                  extra: Optional[dict] = None, person_id: Optional[int] = None,
                  submitted_at: Optional[datetime] = None) -> Optional[GradeOutbox]:
    """Queue a score for a person in the launch's course (the launching person by default).
    `submitted_at`: the score comes with a new submission (Canvas shows it in SpeedGrader).

    Returns None when the platform offers no AGS endpoint for it (grades not enabled)."""
    ags = ctx.services.get("ags") or {}
    placement = _placement_for(ctx, resource_id)
    line_item = placement.line_item_url if placement is not None else None
    if not line_item and not ags.get("lineitems"):
        return None
    person = db().get(Person, person_id or ctx.person_id)
    body = {
        "userId": person.sub,
        "scoreMaximum": score_maximum,
        "activityProgress": activity_progress,
        "gradingProgress": grading_progress,
        "timestamp": ags_timestamp(),
    }
    if score_given is not None:
        body["scoreGiven"] = score_given
    if comment:
        body["comment"] = comment
    submission = canvas_submission(ctx, submitted_at)
    if submission is not None:
        body[CANVAS_SUBMISSION] = submission
    if extra:
        body.update(extra)
    entry = GradeOutbox(
        platform_id=ctx.platform_id, course_id=ctx.course_id, person_id=person.id,
        line_item_url=line_item, lineitems_url=ags.get("lineitems"), resource_id=resource_id,
        resource_link_id=placement.resource_link_id if placement is not None else None, label=label[:300],
        score=body, source=source, source_id=source_id,
    )
    db().add(entry)
    return entry
