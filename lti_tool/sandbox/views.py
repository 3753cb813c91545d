"""The built-in sandbox VLE: a demo course that launches the tool through the real LTI 1.3 flow.

A newcomer picks who to be (participant, tutor, mentor) and opens the course's links; each opens
the tool in an iframe, as Canvas or Moodle would, with signed tokens from lti1p3platform.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from ..extensions import csrf
from ..db import db
from ..db import utcnow
from ..permissions import public
from ..models import ACTIVE, Deployment, Platform, SandboxGrade, SandboxLineItem, SandboxLink
from .platform import (
    LaunchSpec,
    decode_claims_unverified,
    read_deep_linking_response,
    validate_token,
    PlatformSetup,
    PreflightRejected,
    auto_post_form,
    build_launch,
    issue_access_token,
    load_or_create_key,
    login_initiation_url,
)

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

SANDBOX_ISSUER = "https://sandbox.npq-lti.example"
SANDBOX_CLIENT_ID = "npq-sandbox-client"
SANDBOX_DEPLOYMENT = "npq-sandbox-deployment"
COURSE_ID = "sandbox-npqsl-2027"
COURSE_TITLE = "NPQSL International · Cohort 2027 (sandbox)"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


@dataclass(frozen=True)
class SandboxPerson:
    key: str
    name: str
    given: str
    family: str
    email: str
    roles: tuple[str, ...]
    label: str


PEOPLE = {
    p.key: p
    for p in (
        SandboxPerson("participant", "Asha Patel", "Asha", "Patel", "asha.patel@example.org",
                      (LIS + "Learner",), "Participant"),
        SandboxPerson("participant2", "Ben Okafor", "Ben", "Okafor", "ben.okafor@example.org",
                      (LIS + "Learner",), "Second participant"),
        SandboxPerson("tutor", "Dr Tom Reid", "Tom", "Reid", "tom.reid@example.org",
                      (LIS + "Instructor",), "Tutor"),
        # A second tutor, so moderation (a second marker agreeing or changing a mark) can be tried.
        SandboxPerson("tutor2", "Dr Priya Shah", "Priya", "Shah", "priya.shah@example.org",
                      (LIS + "Instructor",), "Second tutor (moderator)"),
        SandboxPerson("mentor", "Grace Lee", "Grace", "Lee", "grace.lee@example.org",
                      (LIS + "Mentor",), "Mentor (headteacher)"),
    )
}


def _setup() -> PlatformSetup:
    key = load_or_create_key(Path(current_app.instance_path) / "sandbox_platform.pem")
    return PlatformSetup(
        issuer=SANDBOX_ISSUER,
        client_id=SANDBOX_CLIENT_ID,
        deployment_id=SANDBOX_DEPLOYMENT,
        private_pem=key,
        tool_login_url=url_for("lti.login", _external=True),
        tool_launch_url=url_for("lti.launch", _external=True),
        tool_jwks=current_app.extensions["keystore"].jwks(),
    )


def ensure_registered(setup: PlatformSetup) -> None:
    """Register the sandbox with the tool (once), pointing at this host's sandbox endpoints."""
    platform = db().scalar(select(Platform).where(Platform.issuer == SANDBOX_ISSUER,
                                                  Platform.client_id == SANDBOX_CLIENT_ID))
    auth_url = url_for("sandbox.authorize", _external=True)
    token_url = url_for("sandbox.token", _external=True)
    if platform is None:
        platform = Platform(name="Sandbox VLE", issuer=SANDBOX_ISSUER, client_id=SANDBOX_CLIENT_ID,
                            status=ACTIVE, registered_via="sandbox", auth_login_url=auth_url,
                            auth_token_url=token_url)
        db().add(platform)
        db().flush()
        db().add(Deployment(platform_id=platform.id, deployment_id=SANDBOX_DEPLOYMENT,
                            label="Sandbox course", status=ACTIVE))
    # The sandbox's key is given inline: the tool never calls itself over HTTP to launch.
    if (platform.auth_login_url, platform.auth_token_url, platform.key_set) != (auth_url, token_url, setup.jwks()):
        platform.auth_login_url, platform.auth_token_url = auth_url, token_url
        platform.key_set = setup.jwks()
    db().commit()


# The demo course of the quick start: a course home and a few placed items, as a course designer
# would have added them with Deep Linking.
DEMO_ITEMS = (
    ("NPQSL/sc-reading", "Evidence reading · School culture", None),
    ("NPQSL/sc-check", "Knowledge check · School culture", "auto"),
    ("NPQSL/risk-assessment", "In-school project · Risk assessment", "tutor"),
    ("NPQSL/action-plan", "In-school project · Action plan", "tutor"),
    ("NPQSL/impact-essay", "In-school project · Impact essay", "tutor"),
)


def _ensure_home_link() -> None:
    # The course home is there from the start, even where a tutor's Deep Linking added links first.
    if db().scalar(select(SandboxLink.id).where(SandboxLink.resource_link_id == "sandbox-home")) is not None:
        return
    db().add(SandboxLink(title="NPQ Learning – course home", resource_link_id="sandbox-home",
                         text="Your programme, activities and progress.", custom={"npq_programme": "NPQSL"}))
    if current_app.config.get("DEMO_DATA"):
        from ..content.items import find_item

        for ref, text, _ in DEMO_ITEMS:
            item = find_item(ref)
            if item is None:
                continue
            link = SandboxLink(title=item.title, text=text, resource_link_id="sandbox-" + ref.replace("/", "-"),
                               custom={"npq_item": ref, "npq_programme": item.programme})
            if item.marked and item.score_maximum:
                link.line_item = {"label": item.title, "scoreMaximum": item.score_maximum, "resourceId": ref}
                db().add(SandboxLineItem(label=item.title, score_maximum=item.score_maximum, resource_id=ref,
                                         resource_link_id=link.resource_link_id, tag="npq-" + item.marking))
            db().add(link)
    db().commit()


def _ensure_demo_course() -> None:
    """With demo data, the course exists before anyone launches, with its windows and webinars."""
    from .demo import seed_demo_course

    platform = db().scalar(select(Platform).where(Platform.issuer == SANDBOX_ISSUER,
                                                  Platform.client_id == SANDBOX_CLIENT_ID))
    tutor = PEOPLE["tutor"]
    seed_demo_course(platform, COURSE_ID, COURSE_TITLE, "NPQSL", "sandbox-" + tutor.key, tutor.name)
    db().commit()


def _person(key: str | None) -> SandboxPerson:
    person = PEOPLE.get(key or "")
    if person is None:
        abort(404)
    return person


@bp.get("/")
@public  # the sandbox VLE's own pages and APIs: open, or checked by their own tokens
def course():
    ensure_registered(_setup())
    _ensure_home_link()
    if current_app.config.get("DEMO_DATA"):
        _ensure_demo_course()
    links = db().scalars(select(SandboxLink).order_by(SandboxLink.id)).all()
    as_key = request.args.get("as", "participant")
    return render_template("sandbox/course.html", links=links, people=PEOPLE.values(),
                           current=_person(as_key), course_title=COURSE_TITLE)


@bp.get("/links/<int:link_id>")
@public
def open_link(link_id: int):
    """The course page with the tool in an iframe, as a VLE shows an LTI link."""
    link = db().get(SandboxLink, link_id) or abort(404)
    person = _person(request.args.get("as"))
    src = url_for("sandbox.initiate", link=link.id, **{"as": person.key})
    return render_template("sandbox/frame.html", link=link, person=person, src=src,
                           course_title=COURSE_TITLE)


@bp.get("/initiate")
@public
def initiate():
    """Start a launch: send the browser to the tool's login initiation URL."""
    person = _person(request.args.get("as"))
    setup = _setup()
    ensure_registered(setup)
    hint = json.dumps({"link": request.args.get("link", type=int),
                       "dl": request.args.get("dl") == "1"})
    return redirect(login_initiation_url(setup, "sandbox-" + person.key, hint))


@bp.get("/auth")
@public
def authorize():
    """The platform's OIDC authorization endpoint: sign an id_token and post it to the tool."""
    args = request.args.to_dict()
    try:
        hint = json.loads(args.get("lti_message_hint") or "{}")
        person = PEOPLE[args.get("login_hint", "").removeprefix("sandbox-")]
    except (ValueError, KeyError):
        return "Unknown user or message hint.", 400
    spec = LaunchSpec(user_id="sandbox-" + person.key, roles=list(person.roles), name=person.name,
                      email=person.email, given_name=person.given, family_name=person.family,
                      context_id=COURSE_ID, context_title=COURSE_TITLE,
                      lineitems_url=url_for("sandbox.line_items", _external=True),
                      nrps_url=url_for("sandbox.memberships", _external=True))
    if person.key == "mentor":
        spec.extra_claims["https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"] = ["sandbox-participant"]
    if hint.get("dl"):
        spec.deep_link_return_url = url_for("sandbox.deep_link_return", _external=True)
        spec.deep_link_data = "sandbox-course"
    link = db().get(SandboxLink, hint.get("link") or 0) if hint.get("link") else None
    if link is not None and not hint.get("dl"):
        spec.resource_link_id, spec.resource_link_title = link.resource_link_id, link.title
        spec.custom = dict(link.custom or {})
        column = db().scalar(select(SandboxLineItem).where(SandboxLineItem.resource_link_id == link.resource_link_id))
        if column is not None:
            spec.lineitem_url = url_for("sandbox.line_item", item_id=column.id, _external=True)
    try:
        launch = build_launch(_setup(), args, spec)
    except PreflightRejected as exc:
        return f"The sandbox refused the authentication request: {exc}", 400
    return auto_post_form(launch, script_src=url_for("static", filename="autopost.js"))


@bp.post("/token")
@csrf.exempt  # server to server: the tool's signed client assertion is the credential
@public
def token():
    try:
        return jsonify(issue_access_token(_setup(), request.form.to_dict()))
    except Exception as exc:  # lti1p3platform raises several types for a bad assertion
        return jsonify({"error": "invalid_client", "error_description": str(exc)[:200]}), 400


@bp.get("/add")
@public
def add_items():
    """The course's "add content" page: the tool's picker in an iframe (Deep Linking)."""
    person = _person(request.args.get("as", "tutor"))
    src = url_for("sandbox.initiate", dl=1, **{"as": person.key})
    return render_template("sandbox/frame.html", link={"title": "Add NPQ content"}, person=person,
                           src=src, course_title=COURSE_TITLE)


@bp.post("/deep-link-return")
@csrf.exempt  # a signed JWT from the tool, checked below, not a form of this site
@public
def deep_link_return():
    """The platform's end of Deep Linking: check the tool's signed response, add the items."""
    try:
        items = read_deep_linking_response(_setup(), request.form.get("JWT", ""))
        claims = decode_claims_unverified(request.form["JWT"])
    except Exception as exc:  # a forged or malformed response adds nothing
        return render_template("sandbox/added.html", error=str(exc)[:300], items=[]), 400
    if claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/data") != "sandbox-course":
        return render_template("sandbox/added.html", error="The response did not echo the request's data.", items=[]), 400
    added = []
    for item in items:
        if item.get("type") != "ltiResourceLink":
            continue
        link = SandboxLink(title=str(item.get("title") or "Untitled")[:500], text=item.get("text"),
                           resource_link_id="sandbox-" + secrets.token_hex(6),
                           custom=dict(item.get("custom") or {}), line_item=item.get("lineItem"))
        db().add(link)
        line = item.get("lineItem")
        if isinstance(line, dict) and line.get("scoreMaximum"):
            db().add(SandboxLineItem(label=str(line.get("label") or link.title)[:300],
                                     score_maximum=float(line["scoreMaximum"]), resource_id=line.get("resourceId"),
                                     tag=line.get("tag"), resource_link_id=link.resource_link_id))
        added.append(link)
    db().commit()
    return render_template("sandbox/added.html", items=added, error=None)


# -- the sandbox's Assignment and Grade Services and Names and Role Provisioning ---------------

AGS_SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
              "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"]
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


def _authorised(*scopes: str) -> bool:
    header = request.headers.get("Authorization", "")
    try:
        return header.startswith("Bearer ") and validate_token(_setup(), header[7:], list(scopes))
    except Exception:  # an invalid or foreign token
        return False


def _line_item_json(item: SandboxLineItem) -> dict:
    return {"id": url_for("sandbox.line_item", item_id=item.id, _external=True), "label": item.label,
            "scoreMaximum": item.score_maximum, "resourceId": item.resource_id or "",
            "resourceLinkId": item.resource_link_id or "", "tag": item.tag or ""}


@bp.route("/lineitems", methods=["GET", "POST"])
@csrf.exempt  # bearer-token API
@public
def line_items():
    if not _authorised(*AGS_SCOPES):
        return jsonify({"error": "unauthorized"}), 401
    if request.method == "GET":
        query = select(SandboxLineItem)
        if request.args.get("resource_id"):
            query = query.where(SandboxLineItem.resource_id == request.args["resource_id"])
        return jsonify([_line_item_json(i) for i in db().scalars(query)])
    body = request.get_json(silent=True) or {}
    try:
        item = SandboxLineItem(label=str(body["label"])[:300], score_maximum=float(body["scoreMaximum"]),
                               resource_id=body.get("resourceId"), resource_link_id=body.get("resourceLinkId"),
                               tag=body.get("tag"))
    except (KeyError, TypeError, ValueError):
        return jsonify({"error": "label and scoreMaximum are required"}), 400
    db().add(item)
    db().commit()
    return jsonify(_line_item_json(item)), 201


@bp.get("/lineitems/<int:item_id>")
@public
def line_item(item_id: int):
    if not _authorised(*AGS_SCOPES):
        return jsonify({"error": "unauthorized"}), 401
    item = db().get(SandboxLineItem, item_id)
    return (jsonify(_line_item_json(item)), 200) if item else (jsonify({"error": "not found"}), 404)


@bp.post("/lineitems/<int:item_id>/scores")
@csrf.exempt  # bearer-token API
@public
def scores(item_id: int):
    if not _authorised(SCORE_SCOPE):
        return jsonify({"error": "unauthorized"}), 401
    item = db().get(SandboxLineItem, item_id)
    body = request.get_json(silent=True, force=True)
    if item is None or not isinstance(body, dict) or not body.get("userId") or not body.get("timestamp"):
        return jsonify({"error": "bad score"}), 400
    grade = db().scalar(select(SandboxGrade).where(SandboxGrade.line_item_id == item.id,
                                                   SandboxGrade.user_id == str(body["userId"])))
    if grade is not None and str(body["timestamp"]) <= str(grade.score.get("timestamp")):
        return jsonify({"error": "score timestamp not after the current one"}), 409  # as Moodle does
    if grade is None:
        grade = SandboxGrade(line_item_id=item.id, user_id=str(body["userId"]), score=body)
        db().add(grade)
    grade.score, grade.received_at = body, utcnow()
    db().commit()
    return "", 204


@bp.get("/memberships")
@public
def memberships():
    if not _authorised(NRPS_SCOPE):
        return jsonify({"error": "unauthorized"}), 401
    members = [{"user_id": "sandbox-" + p.key, "name": p.name, "given_name": p.given, "family_name": p.family,
                "email": p.email, "roles": list(p.roles), "status": "Active"} for p in PEOPLE.values()]
    return jsonify({"id": request.url, "context": {"id": COURSE_ID, "title": COURSE_TITLE}, "members": members})


@bp.get("/gradebook")
@public
def gradebook():
    """What the sandbox VLE's gradebook holds: every score the tool sent through AGS."""
    columns = db().scalars(select(SandboxLineItem).order_by(SandboxLineItem.id)).all()
    grades = {(g.line_item_id, g.user_id): g for g in db().scalars(select(SandboxGrade))}
    people = [p for p in PEOPLE.values() if p.roles[0].endswith("Learner")]
    return render_template("sandbox/gradebook.html", columns=columns, grades=grades, people=people,
                           course_title=COURSE_TITLE)


@bp.get("/jwks.json")
@public
def jwks():
    return jsonify(_setup().jwks())
