"""Where a launch lands: a page per role, and the end of a session."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from sqlalchemy import func, select

from ..activities.views import course_programme
from ..auth import forget_launch
from ..content import find_activity, find_template_ref
from ..db import db, utcnow
from ..lti.context import LaunchContext
from ..models import COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR, Enrolment, LaunchSession, Placement
from ..permissions import current_context, launch_required, public, public_static

bp = Blueprint("core", __name__)
bp.record_once(public_static)  # the app's /static/ files: open to anyone

# Other areas of the tool (assessments, ...) say where their items open: each resolver takes the
# launch context and returns a URL for the placement's item, or None if the item is not theirs.
ITEM_RESOLVERS: list = []


def register_item_resolver(fn) -> None:
    if fn not in ITEM_RESOLVERS:
        ITEM_RESOLVERS.append(fn)


@bp.get("/")
@public
def index():
    return render_template("core/index.html")


def _link_not_set_up(ctx: LaunchContext) -> bool:
    return bool(ctx.placement_id and not ctx.item_ref and not ctx.services.get("custom", {}).get("npq_programme"))


def destination(ctx: LaunchContext) -> str | None:
    """Where this launch opens, as a URL; None where the landing page itself must answer (a link not
    set up yet, a participant's or a tutor's course home). The launch redirects straight here."""
    if ctx.message_type == "LtiDeepLinkingRequest":
        return url_for("catalogue.pick") if ctx.is_tutor else None
    if ctx.role == MENTOR:
        return url_for("delivery.mentees")
    if _link_not_set_up(ctx):
        # A plain link nobody has set up: a tutor picks its item now; participants must wait.
        return url_for("catalogue.pick") if ctx.is_tutor else None
    activity = find_activity(ctx.item_ref)
    if activity is not None and ctx.role in (PARTICIPANT, TUTOR, COURSE_ADMIN):
        return url_for("activities.activity_page", code=activity.programme, activity_id=activity.id)
    template = find_template_ref(ctx.item_ref)
    if template is not None and ctx.role in (PARTICIPANT, TUTOR, COURSE_ADMIN):
        # A marked item opens its marking queue for tutors, the document for participants.
        endpoint = "writeups.editor" if ctx.role == PARTICIPANT else "marking.queue"
        return url_for(endpoint, code=template.programme, template_id=template.id)
    for resolve in ITEM_RESOLVERS:
        url = resolve(ctx)
        if url:
            return url
    if ctx.role == PARTICIPANT and course_programme() is not None:
        return url_for("activities.programme_home")
    return None


@bp.get("/s/<sid>/")
@launch_required()
def landing():
    ctx = current_context()
    url = destination(ctx)
    if url is not None:
        return redirect(url)
    if ctx.message_type == "LtiDeepLinkingRequest":
        return render_template("core/not_set_up.html", ctx=ctx, deep_linking=True), 403
    if _link_not_set_up(ctx):
        return render_template("core/not_set_up.html", ctx=ctx, deep_linking=False)
    return _course_home(ctx)


@bp.get("/s/<sid>/course")
@launch_required(TUTOR, COURSE_ADMIN)
def course_home():
    """The tutor's course home, whichever item the launch opened (the header's "Course" link):
    the landing page sends a placed item's launch on to that item instead."""
    return _course_home(current_context())


def _course_home(ctx: LaunchContext):
    placements = db().scalars(
        select(Placement).where(Placement.course_id == ctx.course_id).order_by(Placement.id)
    ).all()
    if ctx.role == PARTICIPANT:
        return render_template("core/participant_home.html", ctx=ctx, placements=placements)
    from ..marking.service import sync_roster  # noqa: PLC0415

    sync_roster(ctx)  # the class list from the platform, at most every few minutes
    counts = dict(db().execute(
        select(Enrolment.role, func.count()).where(Enrolment.course_id == ctx.course_id)
        .group_by(Enrolment.role)).all())
    return render_template("core/tutor_home.html", ctx=ctx, placements=placements, counts=counts,
                           programme=course_programme())


@bp.post("/s/<sid>/logout")
@launch_required()
def logout():
    ctx = current_context()
    row = db().get(LaunchSession, ctx.session_id)
    row.ended_at = utcnow()
    db().commit()
    forget_launch(ctx.session_id)
    return redirect(url_for("core.signed_out"), code=303)


@bp.get("/signed-out")
@public
def signed_out():
    return render_template("core/signed_out.html")
