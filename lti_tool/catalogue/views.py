"""The catalogue picker: course designers choose items for Deep Linking, or for a plain link
that was never set up."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, render_template, request, url_for

from ..permissions import current_context, launch_required
from ..content import catalogue
from ..content.items import find_item, items_of
from .defaults import default_programme, remember_choice
from ..db import db
from ..lti.deep_linking import accepts_multiple, response_jwt
from ..models import COURSE_ADMIN, TUTOR, Course, Deployment, Placement, Platform

log = logging.getLogger(__name__)
bp = Blueprint("catalogue", __name__)

DEEP_LINKING = "LtiDeepLinkingRequest"


def _mode() -> str:
    return "deep_linking" if current_context().message_type == DEEP_LINKING else "configure"


def _default_programme() -> str:
    programmes = catalogue()
    # Complete programmes before outlines when nothing about the course points at one.
    return default_programme(current_context(), sorted(programmes, key=lambda c: (programmes[c].is_outline, c)))


@bp.get("/s/<sid>/pick")
@launch_required(TUTOR, COURSE_ADMIN)
def pick():
    ctx = current_context()
    mode = _mode()
    if mode == "configure" and (ctx.placement_id is None or ctx.item_ref):
        abort(404)
    programmes = catalogue()
    code = request.args.get("programme") or _default_programme()
    if code not in programmes:
        abort(404)
    if request.args.get("programme"):
        remember_choice(ctx, code)
    query = (request.args.get("q") or "").strip()[:100]
    items = [i for i in items_of(code) if not query or i.matches(query)]
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    multiple = mode == "deep_linking" and accepts_multiple(ctx.services.get("deep_linking", {}))
    return render_template("catalogue/pick.html", ctx=ctx, mode=mode, programmes=programmes, code=code,
                           programme=programmes[code], query=query, groups=groups, multiple=multiple,
                           count=len(items), error=None)


@bp.post("/s/<sid>/pick")
@launch_required(TUTOR, COURSE_ADMIN)
def choose():
    ctx = current_context()
    mode = _mode()
    if mode == "deep_linking" and request.form.get("action") == "cancel":
        return _return_to_platform(ctx, [])
    refs = request.form.getlist("item")[:100]
    chosen = [item for item in (find_item(ref) for ref in refs) if item is not None]
    settings = ctx.services.get("deep_linking", {})
    single = mode == "configure" or not accepts_multiple(settings)
    if not chosen or (single and len(chosen) > 1):
        code = request.form.get("programme") or _default_programme()
        programmes = catalogue()
        groups: dict[str, list] = {}
        for item in items_of(code):
            groups.setdefault(item.group, []).append(item)
        error = "Choose one item." if single else "Choose at least one item."
        return render_template("catalogue/pick.html", ctx=ctx, mode=mode, programmes=programmes, code=code,
                               programme=programmes.get(code), query="", groups=groups,
                               multiple=not single, count=sum(map(len, groups.values())), error=error), 400
    if request.form.get("programme") in catalogue():
        remember_choice(ctx, request.form["programme"])
    if mode == "configure":
        placement = db().get(Placement, ctx.placement_id)
        placement.item_ref = chosen[0].ref
        course = db().get(Course, ctx.course_id)
        course.programme_code = course.programme_code or chosen[0].programme
        db().commit()
        log.info("placement %s set to %s by person %s", placement.id, chosen[0].ref, ctx.person_id)
        return redirect(url_for("core.landing"), code=303)
    return _return_to_platform(ctx, chosen)


def _return_to_platform(ctx, chosen: list):
    """The signed deep-linking response; with nothing chosen (Cancel) the platform closes its
    dialog and adds nothing."""
    settings = ctx.services.get("deep_linking", {})
    platform = db().get(Platform, ctx.platform_id)
    deployment = db().get(Deployment, ctx.deployment_pk)
    token = response_jwt(platform, deployment.deployment_id, settings, chosen,
                         url_for("lti.launch", _external=True))
    log.info("deep linking response: %d item(s) for course %s", len(chosen), ctx.course_id)
    return render_template("catalogue/return.html", return_url=settings["deep_link_return_url"],
                           jwt=token, items=chosen)
