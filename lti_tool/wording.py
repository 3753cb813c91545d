"""Plain words for what people read: text shortened at a whole word with "…", the codes of the
LTI gradebook, the grade outbox and DfE's declarations as words (codes stay in machine exports
only), and a refusal's reason tied to the field it is about (the GOV.UK error pattern)."""
from __future__ import annotations

from typing import Optional

from flask import Flask

from .grades.status import SETTLED

# What the gradebook (LTI AGS gradingProgress) is told, as a tutor reads it.
GRADING_PROGRESS = {"FullyGraded": "marked", "PendingManual": "waiting for marking", "Pending": "waiting",
                    "Failed": "not marked", "NotReady": "not ready"}
# Where a score on its way to the VLE is (the grade outbox's statuses).
DELIVERY = {"pending": "waiting to send", "delivered": "sent to the gradebook", "failed": "not sent",
            "superseded": "not sent: a newer grade was sent"}


def shorten(text: Optional[str], limit: int = 80) -> str:
    """Text cut at a whole word with "…" when it is longer than limit characters."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut[:cut.rfind(" ")]
    return cut.rstrip(" ,;:.-–") + "…"


class Problem(str):
    """A reason a submission is refused, in words, with the id of the input it is about (the page
    links to it from the error summary and shows the message next to it)."""

    def __new__(cls, message: str, field: str = ""):
        obj = super().__new__(cls, message)
        obj.field = field
        return obj


def grading_progress(code: Optional[str]) -> str:
    return GRADING_PROGRESS.get(code or "", (code or "").lower())


def delivery_status(code: Optional[str]) -> str:
    return DELIVERY.get(code or "", (code or "").replace("_", " "))


def declaration_label(code: Optional[str]) -> str:
    """DfE's declaration type ("retained-1") as people read it ("Retention point 1")."""
    from .assessment.schedules import DECLARATION_LABELS  # noqa: PLC0415 (assessment imports this module)

    return DECLARATION_LABELS.get(code or "", (code or "").replace("-", " "))


REPORT_COLUMNS = {
    "participant_id": "DfE participant ID", "full_name": "Name", "email": "Email", "lms_user_id": "VLE user ID",
    "course_identifier": "DfE course", "schedule_identifier": "DfE schedule", "engagement_percent": "Engagement (%)",
    "engagement_threshold_met": "Engagement met", "has_passed": "Passed", "state": "Outcome",
    "completion_date": "Completed on", "held_back_reason": "Why held back",
}


def report_column(code: str) -> str:
    """A column of the DfE outcomes export as a tutor reads it on the report page (the files keep DfE's names)."""
    return REPORT_COLUMNS.get(code) or declaration_label(code)


def init_app(app: Flask) -> None:
    app.add_template_filter(shorten, "shorten")
    app.add_template_filter(grading_progress, "grading_progress")
    app.add_template_filter(delivery_status, "delivery_status")
    app.add_template_filter(declaration_label, "declaration_label")
    app.add_template_filter(report_column, "report_column")
    app.add_template_test(lambda status: status in SETTLED, "settled_grade")  # nothing more to send
