"""The tool as a fetcher of URLs given by outsiders (finding 2), end to end: private and local
addresses (checked after DNS, on the address connected to), slow targets, the cap on concurrent
registration fetches, the per-address rate limit, URL parsing in the admin form and CLI, and
error pages that never echo the remote answer. Real servers and sockets on 127.0.0.1."""
from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import time

import pytest
import requests
from sqlalchemy import select

from lti_tool.lti.outbound import is_public_address, url_problem
from lti_tool.models import Platform

from .browser import Browser, csrf_token
from .conftest import learner
from .platform_server import PlatformServer
from .test_registration_security import WELL_KNOWN, _config, _confirm, _signed_in_admin, _start


class _ListeningSocket:
    """A TCP server on 127.0.0.1 that counts connections and never answers."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections, self.held = 0, []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "::"])
def test_private_and_local_addresses_are_not_public(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::6810:84e5", "::ffff:93.184.216.34"])
def test_public_addresses_are_public(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("url, require_https, problem", [
    ("http://localhost.attacker.example/x", True, "insecure"),
    ("http://127.0.0.1.nip.io/x", True, "insecure"),
    ("http://localhost:8080/x", True, None),
    ("http://[::1]:8080/x", True, None),
    ("http://moodle.example/x", False, None),
    ("https://user:pw@moodle.example/x", True, "credentials"),
    ("ftp://moodle.example/x", False, "scheme"),
    ("javascript:alert(1)", False, "scheme"),
    ("https://moodle.example:99999/x", True, "scheme"),
])
def test_platform_urls_are_parsed_not_prefix_matched(url, require_https, problem):
    assert url_problem(url, require_https=require_https) == problem


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_addresses_are_refused_without_connecting(app, tool, monkeypatch, host):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", False)
    target = _ListeningSocket()
    try:
        resp = _start(tool, Browser(), f"http://{host}:{target.port}{WELL_KNOWN}", "token")
        time.sleep(0.2)
        assert target.connections == 0
        assert resp.status_code == 400
        assert "private or local address, which this tool does not contact in production" in resp.text
    finally:
        target.close()


def test_key_set_fetches_obey_the_same_address_rules(app, tool, platform, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", False)
    resp = Browser().launch(platform, learner())
    assert resp.status_code >= 400 and platform.received.jwks_fetches == 0


def test_slow_targets_time_out_and_concurrent_fetches_are_capped(app, tool, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION_CONCURRENT_FETCHES", 2)
    target = _ListeningSocket()
    results: list = []
    start = threading.Barrier(5)

    def fetch() -> None:
        start.wait()
        began = time.monotonic()
        resp = _start(tool, Browser(), f"http://127.0.0.1:{target.port}/conf", "token")
        results.append((resp.status_code, time.monotonic() - began, resp.text))

    threads = [threading.Thread(target=fetch) for _ in range(5)]
    try:
        [t.start() for t in threads]
        time.sleep(1)
        began = time.monotonic()
        assert Browser().http.get(tool.url + "/healthz", timeout=5).status_code == 200
        assert time.monotonic() - began < 1  # the tool answers others meanwhile
        [t.join(30) for t in threads]
    finally:
        target.close()
    busy = [r for r in results if r[0] == 503]
    slow = [r for r in results if r[0] == 504]
    assert len(busy) == 3 and len(slow) == 2, [r[:2] for r in results]
    assert all(seconds < 1.5 and "busy" in text for _, seconds, text in busy)
    read_timeout = app.config["REGISTRATION_HTTP_TIMEOUT"][1]
    assert all(seconds < read_timeout + 2 and "did not answer in time" in text for _, seconds, text in slow)


def test_registration_requests_are_rate_limited_per_address(app, tool, monkeypatch):
    # A window length of its own, so other tests' requests from 127.0.0.1 are not counted.
    monkeypatch.setitem(app.config, "REGISTRATION_RATE_LIMIT", f"3/{7000 + secrets.randbelow(1000)}")
    monkeypatch.setitem(app.config, "RATE_LIMITS_ENABLED", True)
    platform = PlatformServer(tool.url)
    try:
        statuses = [_start(tool, Browser(), platform.issuer + WELL_KNOWN, platform.registration_token)
                    for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 200]
        seen = len(platform.received.paths)
        limited = _start(tool, Browser(), platform.issuer + WELL_KNOWN, platform.registration_token)
        assert limited.status_code == 429 and "Too many attempts" in limited.text
        assert len(platform.received.paths) == seen
    finally:
        platform.stop()


def test_admin_form_and_cli_parse_platform_urls(app, tool, dbs, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_HTTPS_PLATFORM_URLS", True)
    admin, _ = _signed_in_admin(app, tool)
    page = admin.http.get(tool.url + "/admin/platforms/new")
    fields = {"name": "Spoofed localhost", "issuer": "https://spoof.example", "client_id": "spoof",
              "auth_login_url": "http://localhost.attacker.example/auth",
              "auth_token_url": "https://spoof.example/token", "key_set_url": "https://spoof.example/jwks",
              "status": "active", "csrf_token": csrf_token(page.text)}
    refused = admin.http.post(tool.url + "/admin/platforms/new", data=fields)
    assert refused.status_code == 400 and "Use an https:// address" in refused.text
    assert dbs.scalar(select(Platform).where(Platform.client_id == "spoof")) is None
    fields["auth_login_url"] = "http://localhost:8080/auth"  # this machine: still allowed
    assert admin.http.post(tool.url + "/admin/platforms/new", data=fields).status_code == 200
    result = app.test_cli_runner().invoke(args=[
        "platform", "add", "--name", "x", "--issuer", "https://cli.example", "--client-id", "cli-spoof",
        "--auth-login-url", "http://localhost.attacker.example/auth",
        "--auth-token-url", "https://cli.example/t", "--key-set-url", "https://cli.example/k"])
    assert result.exit_code != 0 and "https://" in result.output
    assert dbs.scalar(select(Platform).where(Platform.client_id == "cli-spoof")) is None


# -- finding 2: error pages say what happened in the tool's words only --------------------------

def test_error_pages_never_echo_what_the_remote_answered(app, tool, caplog):
    marker = "MARKER-" + secrets.token_hex(6)
    platform = PlatformServer(tool.url)
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        platform.files["mismatch"] = (200, _config(f"https://{marker}.example", platform.issuer,
                                                   note=f"<b>{marker}</b>"), {})
        platform.files["error"] = (500, f"<h1>{marker}</h1> stack trace", {})
        platform.files["text"] = (200, f"not json {marker}", {"Content-Type": "text/plain"})
        platform.files["big"] = (200, {"issuer": platform.issuer, "pad": marker * 30000}, {})
        platform.files["partial"] = (200, {"issuer": platform.issuer, marker: marker}, {})
        conf = _config(platform.issuer, platform.issuer)
        conf["registration_endpoint"] = platform.issuer + "/files/register-error"
        platform.files["conf"] = (200, conf, {})
        platform.files["register-error"] = (400, {"error": "invalid_client_metadata",
                                                  "error_description": marker}, {})
        pages = [_start(tool, Browser(), platform.issuer + "/files/" + name, platform.registration_token)
                 for name in ("mismatch", "error", "text", "big", "partial")]
        pages.append(_start(tool, Browser(), f"http://127.0.0.1:{closed_port}/conf", "token"))
        browser = Browser()
        pages.append(_confirm(tool, browser, _start(tool, browser, platform.issuer + "/files/conf",
                                                    platform.registration_token)))
        for resp in pages:
            assert 400 <= resp.status_code < 600 and resp.status_code != 500, resp.status_code
            assert "What to do" in resp.text
            for leaked in (marker, "Errno", "Max retries", "Connection refused", "HTTPConnectionPool",
                           "Traceback", "stack trace", "invalid_client_metadata"):
                assert leaked not in resp.text, (resp.url, leaked)
        assert "could not be reached" in pages[5].text and "HTTP 500" in pages[1].text
        logged = caplog.text
        assert platform.registration_token not in logged and marker not in logged
    finally:
        platform.stop()


@pytest.mark.parametrize("address, words", [
    ("ftp://127.0.0.1:{port}/conf", "is not a web address"),
    ("http://user:secret@127.0.0.1:{port}/conf", "contains a user name or password"),
    ("http://moodle.example.invalid:{port}/conf", "does not start with https://"),
])
def test_addresses_the_tool_does_not_use_are_refused_without_connecting(app, tool, monkeypatch, address, words):
    monkeypatch.setitem(app.config, "REQUIRE_HTTPS_PLATFORM_URLS", True)
    target = _ListeningSocket()
    try:
        resp = _start(tool, Browser(), address.format(port=target.port), "token")
        time.sleep(0.2)
        assert target.connections == 0
        assert resp.status_code == 400 and words in resp.text
    finally:
        target.close()


def _tls_server(tmp_path, host_name: str):
    """An https server on 127.0.0.1 whose certificate names host_name; records the SNI it got."""
    import datetime
    import http.server
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{host_name}.crt", tmp_path / f"{host_name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.sni = []
    context.sni_callback = lambda sock, sni, ctx: server.sni.append(sni)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, str(cert_file)


def test_the_checked_connection_keeps_tls_host_name_checks(tmp_path, monkeypatch):
    """Connecting to the checked address must not lose SNI or the certificate's host name check.
    (127.0.0.1 is declared public for this test only: the TLS path is what is under test.)"""
    from lti_tool.lti import outbound
    from lti_tool.lti.http import PlatformSession

    monkeypatch.setattr(outbound, "is_public_address", lambda ip: True)
    session = PlatformSession("test", (3, 5), outbound.OutboundPolicy(allow_private=False, require_https=True))
    good, good_cert = _tls_server(tmp_path, "localhost")
    resp = session.get(f"https://localhost:{good.server_port}/", verify=good_cert)
    assert resp.text == "ok" and good.sni == ["localhost"]
    wrong, wrong_cert = _tls_server(tmp_path, "other.example")
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"https://localhost:{wrong.server_port}/", verify=wrong_cert)
    good.shutdown()
    wrong.shutdown()


def test_a_launchs_service_calls_go_through_the_tools_guarded_session(app):
    """pylti1p3 builds its own requests.Session when given none; the launch hands it the tool's (the
    outbound address rules, the User-Agent and the time-outs), made only when a service call asks."""
    from lti_tool.lti.http import PlatformSession, platform_session
    from lti_tool.lti.launch import ToolMessageLaunch

    with app.test_request_context("/lti/launch", method="POST", data={"id_token": "x", "state": "y"}):
        launch = ToolMessageLaunch()
        assert "_requests_session" not in vars(launch)  # nothing made yet
        session = launch._requests_session
        assert isinstance(session, PlatformSession) and session is platform_session()
        assert session.headers["User-Agent"] == app.config["HTTP_USER_AGENT"]
