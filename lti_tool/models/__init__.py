"""Typed SQLAlchemy models. The LTI edge fills them; the rest of the tool reads plain objects.

Split by area; every name is re-exported here, so ``from lti_tool.models import X`` is the way
to import any of them. Importing this package registers every table on ``db.Base.metadata``.
"""
from .platforms import (ACTIVE, DISABLED, PENDING, STATUSES, AccessToken, Deployment, LaunchState,
                        Platform)
from .courses import (COURSE_ADMIN, MENTOR, NAME_WITHHELD, PARTICIPANT, TUTOR, Course, Enrolment,
                      LaunchSession, Person, Placement, course_title, person_name)
from .admin import AdminUser, LoginAttempt, Setting
from .sandbox import SandboxGrade, SandboxLineItem, SandboxLink
from .work import (DRAFT, RETURNED, SUBMITTED, ActivitySubmission, ActivityWork, WriteupDoc,
                   WriteupSubmission, WriteupVersion)
from .marking import AGREED, FIRST, RELEASED, GradeOutbox, Mark, MarkEvent
from .delivery import Attendance, ModuleWindow, Question, Webinar

from .. import security_models  # noqa: F401  (their tables are part of the schema too)

__all__ = [
    "ACTIVE", "PENDING", "DISABLED", "STATUSES", "Platform", "Deployment", "LaunchState", "AccessToken",
    "PARTICIPANT", "TUTOR", "COURSE_ADMIN", "MENTOR", "NAME_WITHHELD", "person_name", "course_title",
    "Person", "Course", "Enrolment", "Placement", "LaunchSession",
    "AdminUser", "LoginAttempt", "Setting",
    "SandboxLink", "SandboxLineItem", "SandboxGrade",
    "DRAFT", "SUBMITTED", "RETURNED", "ActivityWork", "ActivitySubmission",
    "WriteupDoc", "WriteupVersion", "WriteupSubmission",
    "FIRST", "AGREED", "RELEASED", "Mark", "MarkEvent", "GradeOutbox",
    "ModuleWindow", "Webinar", "Attendance", "Question",
]
