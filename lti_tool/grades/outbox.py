"""Put a score in the outbox, in the caller's transaction; the worker delivers it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from ..db import db, utcnow
from ..lti.context import LaunchContext
from ..models import Course, GradeOutbox, Person, Placement


def ags_timestamp(when: Optional[datetime] = None) -> str:
    """ISO 8601 with milliseconds and offset, as AGS expects. Each new mark gets a new one."""
    when = (when or utcnow()).astimezone(timezone.utc)
    return when.isoformat(timespec="milliseconds")


def enqueue_score(ctx: LaunchContext, *, resource_id: str, label: str, score_given: Optional[float],
                  score_maximum: float, activity_progress: str, grading_progress: str,
                  comment: Optional[str] = None, source: str, source_id: Optional[int] = None,
                  extra: Optional[dict] = None) -> Optional[GradeOutbox]:
    """Queue a score for the launch's course and person, if the platform offers AGS.

    Returns None when the launch carries no AGS endpoint (the platform did not enable grades)."""
    ags = ctx.services.get("ags") or {}
    placement = db().get(Placement, ctx.placement_id) if ctx.placement_id else None
    same_item = placement is not None and placement.item_ref == resource_id
    line_item = (placement.line_item_url if same_item and placement.line_item_url else None)
    if not line_item and not ags.get("lineitems"):
        return None
    person = db().get(Person, ctx.person_id)
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
    if extra:
        body.update(extra)
    entry = GradeOutbox(
        platform_id=ctx.platform_id, course_id=ctx.course_id, person_id=ctx.person_id,
        line_item_url=line_item, lineitems_url=ags.get("lineitems"), resource_id=resource_id,
        resource_link_id=placement.resource_link_id if same_item else None, label=label[:300],
        score=body, source=source, source_id=source_id,
    )
    db().add(entry)
    return entry


__all__ = ["enqueue_score", "ags_timestamp", "Course"]
