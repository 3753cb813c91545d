"""The privacy notice: one public page, linked from the footer of every page (participants,
tutors, mentors, admins, the sandbox, error pages). Its text is a provider setting, shown as plain
text paragraphs (escaped: an admin's text can never add markup or scripts)."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..permissions import public
from ..settings import setting_value

bp = Blueprint("privacy", __name__)

DEFAULT_NOTICE = """\
This learning tool is run for {provider}, who provide your National Professional Qualification (NPQ). {provider} is the controller of your personal data under UK data protection law (UK GDPR and the Data Protection Act 2018). The tool is its processor: it handles your data only on {provider}'s instructions and for your NPQ.

What the tool holds: your name, email address and the courses and roles your learning platform (VLE) sends when you open the tool; the work you write and submit, its versions, marks and feedback; your attendance at webinars and sessions, your questions to tutors, and the outcomes reported to the Department for Education (DfE).

Why: to deliver, assess and quality-assure your NPQ, to report outcomes and DfE declarations as your provider must, and to keep the service secure (an audit log records who signed in, marked, exported or erased what).

Who sees it: you; your tutors and markers; a mentor or headteacher only as far as {provider} allows (never your drafts); {provider}'s administrators; and the DfE for outcomes and declarations.

How long: unsubmitted drafts are deleted once you have left the course or stopped using the tool for a year; submitted work, marks, feedback, attendance, outcomes and the audit log are kept for six years (for assessment appeals and DfE audit), then deleted. {provider} may set other periods.

Your rights: you may ask {provider} for a copy of your data, to correct it, to erase it where the law allows, or to restrict or object to its use. Ask {provider}'s data protection officer. You may also complain to the Information Commissioner's Office (ico.org.uk).

Please do not name pupils, colleagues or families in your work, and never give a pupil's date of birth: describe them instead (for example "a Year 4 pupil")."""


def notice_paragraphs() -> list[list[str]]:
    """The notice as paragraphs (a blank line between them), each a list of its lines."""
    provider = str(setting_value("PROVIDER_NAME")).strip() or "your NPQ provider"
    text = str(setting_value("PRIVACY_NOTICE")).strip() or DEFAULT_NOTICE.format(provider=provider)
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [block.split("\n") for block in blocks if block]


@bp.get("/privacy")
@public
def notice():
    provider = str(setting_value("PROVIDER_NAME")).strip() or "your NPQ provider"
    return render_template("privacy/notice.html", paragraphs=notice_paragraphs(), provider=provider)
