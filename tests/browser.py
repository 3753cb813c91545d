"""A scripted browser for LTI flows: real HTTP, cookies, redirects and auto-posting forms."""
from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import requests

from lti_tool.sandbox.platform import LaunchSpec


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    """What a browser would submit: inputs, textarea text, selected options (buttons excluded)."""

    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._option: dict | None = None
        self._text: list[str] = []

    def _put(self, name, value):
        fields = self.forms[-1].fields
        if name in fields:  # several values: keep them all, as a list
            old = fields[name]
            fields[name] = (old if isinstance(old, list) else [old]) + [value]
        else:
            fields[name] = value

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), (a.get("method") or "get").lower(), {}))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") in ("submit", "button"):
                return
            self._put(a["name"], a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], []
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self._option = a
            self._text = []

    def handle_data(self, data):
        if self._textarea is not None or self._option is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self._put(self._textarea, text[1:] if text.startswith("\n") else text)
            self._textarea = None
        elif tag == "option" and self._option is not None:
            self._put(self._select, self._option.get("value", "".join(self._text)))
            self._option = None
        elif tag == "select":
            self._select = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def csrf_token(html: str) -> str:
    for form in forms(html):
        if "csrf_token" in form.fields:
            return form.fields["csrf_token"]
    raise AssertionError("no CSRF token in page")


class Browser:
    def __init__(self):
        self.http = requests.Session()

    def begin_login(self, platform, spec: LaunchSpec) -> dict:
        """Start a launch at the platform and let the tool answer; return the tool's
        authentication request (state, nonce, redirect_uri, ...) as the platform receives it."""
        first = self.http.get(platform.login_url(spec), allow_redirects=False)
        assert first.status_code == 302, first.text[:500]
        location = first.headers["Location"]
        assert location.startswith(platform.issuer + "/auth"), location
        return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}

    def post_launch(self, url: str, id_token: str, state: str, **kw) -> requests.Response:
        return self.http.post(url, data={"id_token": id_token, "state": state}, **kw)

    def launch(self, platform, spec: LaunchSpec) -> requests.Response:
        """The whole launch: platform -> tool login -> platform auth -> tool launch -> page."""
        args = self.begin_login(platform, spec)
        auth = self.http.get(platform.issuer + "/auth", params=args)
        assert auth.status_code == 200, auth.text[:500]
        form = forms(auth.text)[0]
        return self.http.post(form.action, data=form.fields)
