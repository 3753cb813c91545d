"""An independent LTI 1.3 platform for end-to-end tests, served on 127.0.0.1.

The protocol work is the `lti1p3platform` package's (signing id_tokens, checking the tool's client
assertions, validating deep-linking responses); this file only serves it over HTTP and records what
the tool sends, so tests can assert on what really arrived.
"""
from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime
from dataclasses import dataclass, field

import jwt
from flask import Flask, abort, jsonify, request
from werkzeug.serving import make_server

from lti_tool.sandbox.platform import (
    LaunchSpec,
    PlatformSetup,
    auto_post_form,
    build_launch,
    issue_access_token,
    read_deep_linking_response,
    validate_token,
    login_initiation_url,
)
from lti_tool.lti.keys import ToolKey
from lti_tool.lti.keys import new_key

LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_RO = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
LEARNER, INSTRUCTOR = LIS + "Learner", LIS + "Instructor"


class ServerThread(threading.Thread):
    """A real HTTP server for a WSGI app, on 127.0.0.1 and a free port."""

    def __init__(self, app, host: str = "127.0.0.1", *, ssl_context=None, name: str | None = None):
        """`name`: the host name in the URL (resolved to `host` by the test's name rules);
        `ssl_context`: serve HTTPS."""
        super().__init__(daemon=True)
        self.server = make_server(host, 0, app, threaded=True, ssl_context=ssl_context)
        self.port = self.server.server_port
        self.url = f"{'https' if ssl_context else 'http'}://{name or host}:{self.port}"

    def run(self):
        self.server.serve_forever()

    def stop(self):
        self.server.shutdown()


@dataclass
class Received:
    jwks_fetches: int = 0
    token_requests: list[dict] = field(default_factory=list)
    registrations: list[dict] = field(default_factory=list)
    # Every score POST that the gradebook accepted, in order: (line item id, body).
    scores: list[tuple[str, dict]] = field(default_factory=list)
    score_attempts: int = 0
    deep_link_responses: list[dict] = field(default_factory=list)
    # The path of every request the platform's server received, in order.
    paths: list[str] = field(default_factory=list)


@dataclass
class Gradebook:
    """The platform's AGS side: line items and the latest score per user and line item."""

    line_items: dict[str, dict] = field(default_factory=dict)
    latest: dict[tuple[str, str], dict] = field(default_factory=dict)
    # How the platform refuses a score that is not newer than the one it holds:
    # Moodle answers 409, Canvas 400.
    stale_status: int = 409
    # Fault injection: answer the next N score posts with this status (or sleep this long).
    fail_next: int = 0
    fail_status: int = 500
    delay_next: int = 0
    delay_seconds: float = 0.0
    # Sent as Retry-After (seconds or an HTTP date) with the fail_next answers, when set.
    retry_after: str | None = None


class PlatformServer:
    """One platform registration (issuer + client_id + deployment) pointing at a tool."""

    def __init__(self, tool_url: str, *, client_id: str | None = None, deployment_id: str = "dep-1",
                 ssl_context=None, host_name: str | None = None, storage: bool = True,
                 issuer: str | None = None):
        """`storage`: the course page offers LTI platform storage and says so in the login
        (lti_storage_target, as Canvas does); False: a Moodle 5 style login initiation, a form
        posted with iss, target_link_uri, login_hint, lti_message_hint, client_id and
        lti_deployment_id only. `issuer`: the iss claim when it is not the server's address
        (https://canvas.instructure.com); the platform still answers at its own address."""
        self.tool_url = tool_url
        self.storage = storage
        self.client_id = client_id or "client-" + secrets.token_hex(4)
        self.deployment_id = deployment_id
        self.keys = [new_key()]
        self.received = Received()
        self.gradebook = Gradebook()
        self.members: list[dict] = []  # the class list NRPS serves
        self.faults: dict = {}  # jwks_down, jwks_slow (seconds), token_down
        # Anything else on the platform's host, e.g. a file someone put there: /files/<name> answers
        # (status, body, headers); a dict or list body is sent as JSON.
        self.files: dict[str, tuple] = {}
        self.specs: dict[str, LaunchSpec] = {}
        self.registration_token = "reg-" + secrets.token_hex(8)
        self.app = self._make_app()
        self.server = ServerThread(self.app, ssl_context=ssl_context, name=host_name)
        self.issuer = self.server.url  # where the platform answers
        self._iss = issuer
        self.server.start()

    # -- identity and keys -------------------------------------------------------------------
    @property
    def iss(self) -> str:
        """What its tokens and configuration say it is: its address unless told otherwise."""
        return self._iss or self.issuer

    @property
    def key(self) -> ToolKey:
        return self.keys[-1]

    def rotate_key(self) -> None:
        self.keys.append(new_key())

    def jwks(self) -> dict:
        return {"keys": [k.public_jwk for k in self.keys]}

    def setup(self) -> PlatformSetup:
        return PlatformSetup(
            issuer=self.iss, client_id=self.client_id, deployment_id=self.deployment_id,
            private_pem=self.key.private_pem,
            tool_login_url=self.tool_url + "/lti/login",
            tool_launch_url=self.tool_url + "/lti/launch",
            tool_jwks_url=self.tool_url + "/lti/jwks.json",
        )

    def registration_fields(self) -> dict:
        """What an admin would type into the tool for this platform."""
        return {
            "name": f"Test platform {self.client_id}", "issuer": self.iss,
            "client_id": self.client_id, "auth_login_url": self.issuer + "/auth",
            "auth_token_url": self.issuer + "/token", "key_set_url": self.issuer + "/jwks",
        }

    # -- launching ------------------------------------------------------------------------
    def course_page_url(self, spec: LaunchSpec) -> str:
        """A course page on the platform's site that frames the tool for this launch."""
        hint = secrets.token_hex(8)
        self.specs[hint] = spec
        return f"{self.issuer}/course/{hint}"

    def login_url(self, spec: LaunchSpec) -> str:
        """Where the platform sends the browser to start this launch."""
        hint = secrets.token_hex(8)
        self.specs[hint] = spec
        return login_initiation_url(self.setup(), spec.user_id, hint)

    def authorize(self, args: dict) -> dict:
        """The signed launch (id_token, state, launch_url) for an authentication request."""
        return build_launch(self.setup(), args, self.specs[args["lti_message_hint"]])

    def sign(self, claims: dict, *, key: ToolKey | None = None, kid: str | None = None,
             alg: str = "RS256") -> str:
        key = key or self.key
        return jwt.encode(claims, key.private_pem, algorithm=alg,
                          headers={"kid": kid if kid is not None else key.kid})

    def _make_app(self) -> Flask:
        app = Flask("test_platform")

        @app.before_request
        def record_path():
            self.received.paths.append(request.path)

        @app.route("/files/<path:name>", methods=["GET", "POST"])
        def files(name):
            if name not in self.files:
                abort(404)
            status, body, headers = self.files[name]
            resp = jsonify(body) if isinstance(body, (dict, list)) else app.response_class(body)
            resp.status_code = status
            resp.headers.update(headers)
            return resp

        @app.get("/jwks")
        def jwks():
            self.received.jwks_fetches += 1
            if self.faults.get("jwks_down"):
                return "unavailable", 503
            if self.faults.get("jwks_slow"):
                time.sleep(self.faults["jwks_slow"])
            return jsonify(self.jwks())

        @app.get("/auth")
        def auth():
            args = request.args.to_dict()
            if args.get("lti_message_hint") not in self.specs:
                abort(400)
            return auto_post_form(self.authorize(args))

        @app.post("/token")
        def token():
            self.received.token_requests.append(request.form.to_dict())
            if self.faults.get("token_down"):
                return jsonify({"error": "temporarily_unavailable"}), 503
            try:
                return jsonify(issue_access_token(self.setup(), request.form.to_dict()))
            except Exception as exc:
                return jsonify({"error": "invalid_client", "error_description": str(exc)}), 400

        def bearer_ok(*scopes: str) -> bool:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return False
            try:
                return validate_token(self.setup(), header[7:], list(scopes))
            except Exception:
                return False

        @app.route("/lineitems", methods=["GET", "POST"])
        def line_items():
            if not bearer_ok(LINEITEM, LINEITEM_RO):
                return jsonify({"error": "unauthorized"}), 401
            if request.method == "GET":
                items = list(self.gradebook.line_items.values())
                rid = request.args.get("resource_id")
                if rid:
                    items = [i for i in items if i.get("resourceId") == rid]
                return jsonify(items)
            body = request.get_json(force=True)
            item_id = f"{self.issuer}/lineitems/{len(self.gradebook.line_items) + 1}"
            item = {**body, "id": item_id}
            self.gradebook.line_items[item_id] = item
            return jsonify(item), 201

        @app.get("/lineitems/<int:n>")
        def line_item(n):
            item = self.gradebook.line_items.get(f"{self.issuer}/lineitems/{n}")
            return (jsonify(item), 200) if item else (jsonify({"error": "not found"}), 404)

        @app.post("/lineitems/<int:n>/scores")
        def scores(n):
            self.received.score_attempts += 1
            if not bearer_ok(SCORE):
                return jsonify({"error": "unauthorized"}), 401
            gb = self.gradebook
            if gb.delay_next > 0:
                gb.delay_next -= 1
                time.sleep(gb.delay_seconds)
            if gb.fail_next > 0:
                gb.fail_next -= 1
                headers = {"Retry-After": gb.retry_after} if gb.retry_after else {}
                return jsonify({"error": "unavailable"}), gb.fail_status, headers
            item_id = f"{self.issuer}/lineitems/{n}"
            if item_id not in gb.line_items:
                return jsonify({"error": "no such line item"}), 404
            if request.content_type != "application/vnd.ims.lis.v1.score+json":
                return jsonify({"error": "wrong content type"}), 415
            body = request.get_json(force=True)
            for required in ("userId", "activityProgress", "gradingProgress", "timestamp"):
                if required not in body:
                    return jsonify({"error": f"missing {required}"}), 400
            key = (item_id, body["userId"])
            held = gb.latest.get(key)
            if held and _ts(body["timestamp"]) <= _ts(held["timestamp"]):
                return jsonify({"error": "score timestamp not after the current one"}), gb.stale_status
            gb.latest[key] = body
            self.received.scores.append((item_id, body))
            return "", 204

        @app.get("/course/<hint>")
        def course_page(hint):
            """A VLE-like course page framing the tool, with LTI platform storage (postMessage).
            ?silent=1: a platform that sends lti_storage_target but never answers (Canvas mobile)."""
            spec = self.specs[hint]
            silent = "true" if request.args.get("silent") else "false"
            from lti_tool.sandbox.platform import login_initiation_url
            if self.storage:
                src = login_initiation_url(self.setup(), spec.user_id, hint) + "&lti_storage_target=_parent"
            else:
                src = f"/initiate/{hint}"
            tool_origin = "/".join(self.tool_url.split("/")[:3])
            return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Course</title></head>
<body><header><h1>Test VLE course</h1></header>
<main><iframe id="tool" title="NPQ tool" src="{src}" style="width:100%;height:700px;border:1px solid #999"></iframe></main>
<script>
  var store = {{}}; window.storageLog = [];
  window.addEventListener("message", function (e) {{
    if ({silent} || e.origin !== {tool_origin!r}) return;
    var m = e.data || {{}}, reply = {{ message_id: m.message_id }};
    window.storageLog.push(m.subject);
    if (m.subject === "lti.capabilities") {{
      reply.subject = "lti.capabilities.response";
      reply.supported_messages = [{{ subject: "lti.put_data" }}, {{ subject: "lti.get_data" }}];
    }} else if (m.subject === "lti.put_data") {{
      store[m.key] = m.value; reply.subject = "lti.put_data.response"; reply.key = m.key; reply.value = m.value;
    }} else if (m.subject === "lti.get_data") {{
      reply.subject = "lti.get_data.response"; reply.key = m.key; reply.value = store[m.key];
    }} else return;
    e.source.postMessage(reply, e.origin);
  }});
</script></body></html>"""

        @app.get("/admin/register-tool")
        def register_tool_frame():
            """The platform admin's page that frames the tool's registration URL (Moodle's and
            Canvas's Dynamic Registration dialogs), with the openid_configuration and
            registration_token parameters added."""
            from html import escape
            from urllib.parse import urlencode
            query = urlencode({"openid_configuration": self.issuer + "/.well-known/openid-configuration",
                               "registration_token": self.registration_token})
            src = request.args["url"] + ("&" if "?" in request.args["url"] else "?") + query
            return (f"<!doctype html><html lang='en'><head><title>Add a tool</title></head><body>"
                    f"<h1>Register an LTI tool</h1><iframe id='tool' title='Tool registration' "
                    f"src='{escape(src)}' style='width:100%;height:700px'></iframe></body></html>")

        @app.get("/initiate/<hint>")
        def initiate(hint):
            """Moodle 5's login initiation: a form in the tool's frame, posted to the tool's
            login URL, with no lti_storage_target."""
            from html import escape
            from urllib.parse import parse_qsl, urlsplit
            spec = self.specs[hint]
            url = login_initiation_url(self.setup(), spec.user_id, hint)
            fields = parse_qsl(urlsplit(url).query) + [("client_id", self.client_id),
                                                         ("lti_deployment_id", self.deployment_id)]
            inputs = "".join(f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
                             for k, v in dict(fields).items())
            return (f"<!doctype html><html lang='en'><head><title>Launching</title></head><body>"
                    f"<form method='post' action='{escape(self.tool_url)}/lti/login'>{inputs}</form>"
                    "<script>document.forms[0].submit()</script></body></html>")

        @app.get("/memberships")
        def memberships():
            if not bearer_ok(NRPS):
                return jsonify({"error": "unauthorized"}), 401
            page = int(request.args.get("page", 1))
            size = 2  # small pages, so the tool must follow the Link header
            members = self.members[(page - 1) * size: page * size]
            resp = jsonify({"id": request.base_url, "context": {"id": "ctx"}, "members": members})
            if page * size < len(self.members):
                resp.headers["Link"] = f'<{request.base_url}?page={page + 1}>; rel="next"'
            return resp

        @app.post("/deep-link-return")
        def deep_link_return():
            """Validate the tool's signed response as a platform must, and keep its items."""
            token = request.form.get("JWT", "")
            try:
                items = read_deep_linking_response(self.setup(), token)
            except Exception as exc:
                return f"refused: {exc}", 400
            self.received.deep_link_responses.append({"items": items, "token": token})
            return f"received {len(items)} items", 200

        @app.get("/.well-known/openid-configuration")
        def openid_configuration():
            if request.headers.get("Authorization") != "Bearer " + self.registration_token:
                return jsonify({"error": "unauthorized"}), 401
            return jsonify({
                "issuer": self.iss,
                "authorization_endpoint": self.issuer + "/auth",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "registration_endpoint": self.issuer + "/register",
                "scopes_supported": ["openid"],
                "response_types_supported": ["id_token"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "moodle", "version": "4.5",
                    "messages_supported": [{"type": "LtiResourceLinkRequest"},
                                           {"type": "LtiDeepLinkingRequest"}],
                },
            })

        @app.post("/register")
        def register():
            if request.headers.get("Authorization") != "Bearer " + self.registration_token:
                return jsonify({"error": "unauthorized"}), 401
            body = request.get_json()
            self.received.registrations.append(body)
            tool_conf = dict(body["https://purl.imsglobal.org/spec/lti-tool-configuration"])
            tool_conf["deployment_id"] = self.deployment_id
            return jsonify({**body, "client_id": self.client_id,
                            "https://purl.imsglobal.org/spec/lti-tool-configuration": tool_conf})

        return app

    def add_line_item(self, label: str, score_maximum: float, resource_id: str = "") -> str:
        """A gradebook column the platform made itself (as from a deep-linking lineItem)."""
        item_id = f"{self.issuer}/lineitems/{len(self.gradebook.line_items) + 1}"
        self.gradebook.line_items[item_id] = {"id": item_id, "label": label, "scoreMaximum": score_maximum,
                                              "resourceId": resource_id}
        return item_id

    def member(self, user_id: str, name: str, role: str = LEARNER) -> dict:
        entry = {"user_id": user_id, "name": name, "given_name": name.split()[0],
                 "family_name": name.split()[-1], "email": f"{user_id}@example.org", "roles": [role],
                 "status": "Active"}
        self.members.append(entry)
        return entry

    def stop(self):
        self.server.stop()
