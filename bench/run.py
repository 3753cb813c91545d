"""Benchmark of the NPQ LTI tool as a real service.

    .venv/bin/python -m bench.run            # full run, 7-10 minutes on 2 cores, writes bench/RESULTS.md
    .venv/bin/python -m bench.run --quick    # 2-2.5 minute smoke run, writes bench/RESULTS-quick.md
    .venv/bin/python -m bench.run --help     # options (--db sqlite, --users 1,8,32, --duration, ...)

What it does: copies the application to a temp dir (so edits made to the working tree during the run do not
change what is measured; --no-snapshot to skip), runs a bare Flask app (bench/bare_app.py) under the same
gunicorn settings as the floor, then for each database the LTI floor (bench/lti_floor_app.py: state cookie,
the same RS256 verification, the nonce kept once in the same database, with a platform of its own) and (a
fresh SQLite file; a throwaway PostgreSQL cluster
on 127.0.0.1 when the server binaries are on the machine) migrates it with `flask --app wsgi db upgrade`,
starts the tool with `gunicorn -c gunicorn.conf.py --bind 127.0.0.1:PORT wsgi:app`, starts
tests.platform_server.PlatformServer in a process of its own (bench/platform_proc.py), registers it in the
tool's database as tests/conftest.py's register() does, and measures:

- complete launches (tool OIDC login -> platform auth -> tool launch -> redirects -> first page; one
  keep-alive client with a cookie jar per virtual user) at 1, 8 and 32 concurrent users after a warm-up,
  every database's tool and LTI floor up at once and each level interleaved between them in slices:
  launches/s, p50/p95/p99, the tool's CPU per launch (utime+stime of the gunicorn master and workers from
  /proc), the platform's JWKS fetches, and the CPU the rest of the machine used meanwhile;
- the first launches after a restart of the tool, with and without the warm-up at start-up;
- on PostgreSQL, the statements (round trips) per request, from the server's log (log_statement = all);
- the participant activity page's weight (HTML + stylesheets + scripts, as served and gzip-compressed);
- the marking queue page for courses of 50 and 5,000 participants (rows seeded through the models);
- autosave requests/s on one write-up (JSON pairs, consecutive versions);
- grade delivery: 1,000 released marks put in grade_outbox, the platform's score endpoint sleeping 100 ms,
  delivered by `flask grades work` processes (4, then 1; the command's default 4 delivery threads each) and
  by bench/grade_worker.py threads running
  lti_tool.grades.delivery.deliver_due(); each score checked to arrive exactly once;
- py-spy profiles (--gil) of the launches on each database, and of grade delivery when its target is missed
  (full run).

Only 127.0.0.1 traffic. Every process it starts is stopped at the end (also on Ctrl-C and on its own
watchdog). It never edits the application; everything it writes is under bench/ and a temp directory.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import gzip
import html
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlparse, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH = ROOT / "bench"
# Where the tool is run from: a snapshot copy of the application made at the start of the run (see
# snapshot_app), so that edits others make to the working tree while the bench runs do not change what is
# measured half-way (a pack file edited mid-run makes every worker re-read the packs; a model changed before
# its migration makes every request fail). --no-snapshot runs the working tree itself.
APP_DIR = ROOT
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
GUNICORN = str(VENV_BIN / "gunicorn") if (VENV_BIN / "gunicorn").exists() else shutil.which("gunicorn")
FLASK = str(VENV_BIN / "flask") if (VENV_BIN / "flask").exists() else shutil.which("flask")
PYSPY = str(VENV_BIN / "py-spy") if (VENV_BIN / "py-spy").exists() else shutil.which("py-spy")

import requests  # noqa: E402

LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER, INSTRUCTOR = LIS + "Learner", LIS + "Instructor"
WRITEUP_REF = "NPQSL/risk-assessment"
ACTIVITY_REF = "NPQSL/sc-reading"
HTTP_TIMEOUT = 60
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Targets from the issues (#19 for launches), for this 2-core machine.
T_CPU_RATIO = 2.0  # tool CPU per complete launch / the LTI floor's, same run, same database
T_PG_RATIO = 1.25  # tool CPU per launch on PostgreSQL / on SQLite
T_RATE_RATIO = 0.8  # tool launches/s at 8 users / the LTI floor's
T_FIRST_RATIO = 2.0  # first complete launch after start-up / the median of launches 91-100
T_P95_8_MS = 100.0
T_GRADES_S = 15.0
T_QUEUE_RATIO = 2.0
T_PAGE_GZIP = 100 * 1024


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# processes: everything started is tracked and stopped by pid
# ---------------------------------------------------------------------------------------------

class Procs:
    def __init__(self):
        self.started: list[tuple[str, subprocess.Popen, int]] = []
        self.extra_pids: set[int] = set()  # gunicorn workers seen, killed by pid if the master leaves them
        self.cleanups: list = []
        self.lock = threading.Lock()

    def start(self, name: str, cmd: list[str], *, stop_signal=signal.SIGTERM, **kw) -> subprocess.Popen:
        kw.setdefault("cwd", str(APP_DIR))
        proc = subprocess.Popen(cmd, start_new_session=True, **kw)
        with self.lock:
            self.started.append((name, proc, stop_signal))
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 25) -> None:
        with self.lock:
            entry = next((e for e in self.started if e[1] is proc), None)
            if entry:
                self.started.remove(entry)
        sig = entry[2] if entry else signal.SIGTERM
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    def stop_all(self) -> None:
        for _, proc, _ in list(reversed(self.started)):
            try:
                self.stop(proc)
            except Exception as exc:  # keep cleaning
                print(f"cleanup: {exc}", file=sys.stderr)
        for pid in list(self.extra_pids):
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.extra_pids.clear()
        while self.cleanups:
            fn = self.cleanups.pop()
            try:
                fn()
            except Exception as exc:
                print(f"cleanup: {exc}", file=sys.stderr)


PROCS = Procs()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                out += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def tree_pids(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def proc_cpu(pid: int, *, with_reaped_children: bool = True) -> float:
    """utime+stime (and the CPU of its waited-for children) of one process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process tree: every live process, plus the children they have reaped."""
    return sum(proc_cpu(p) for p in tree_pids(pid))


def system_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen | None = None, what: str = "") -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what or url} exited with {proc.returncode} before answering")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what or url} did not answer within {timeout}s")


# ---------------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return pct(values, 50)


def fmt(x: float, digits: int = 1) -> str:
    if x != x:  # nan
        return "–"
    return f"{x:,.{digits}f}"


# ---------------------------------------------------------------------------------------------
# the servers
# ---------------------------------------------------------------------------------------------

class Postgres:
    """A throwaway PostgreSQL cluster in a temp dir, on 127.0.0.1 and a free port."""

    def __init__(self):
        self.bindir = self._find_bindir()
        self.tmp: str | None = None
        self.port = 0
        self.version = ""

    @staticmethod
    def _find_bindir() -> str | None:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                            if p.parent.name.isdigit() else 0, reverse=True) if Path("/usr/lib/postgresql").exists() else []
        for c in candidates:
            if (c / "initdb").exists() and (c / "pg_ctl").exists():
                return str(c)
        initdb = shutil.which("initdb")
        if initdb and shutil.which("pg_ctl"):
            return str(Path(os.path.realpath(initdb)).parent)
        return None

    def _as_pg(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        if shutil.which("runuser"):
            return ["runuser", "-u", "postgres", "--"]
        return ["sudo", "-u", "postgres"]

    def start(self) -> None:
        assert self.bindir
        self.tmp = tempfile.mkdtemp(prefix="npq-bench-pg-")
        PROCS.cleanups.append(self.stop)
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres", "postgres")
        data = os.path.join(self.tmp, "data")
        run = lambda cmd: subprocess.run(self._as_pg() + cmd, check=True, capture_output=True, text=True,  # noqa: E731
                                         cwd=self.tmp)
        run([f"{self.bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        self.port = free_port()
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.tmp} -c max_connections=200"
        run([f"{self.bindir}/pg_ctl", "-D", data, "-l", os.path.join(self.tmp, "server.log"), "-w", "-t", "60",
             "-o", opts, "start"])
        self.version = run([f"{self.bindir}/postgres", "--version"]).stdout.strip()

    def create_db(self, name: str) -> str:
        subprocess.run(self._as_pg() + [f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port),
                                        "-U", "postgres", name], check=True, capture_output=True, cwd=self.tmp)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if not self.tmp:
            return
        data = os.path.join(self.tmp, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(self._as_pg() + [f"{self.bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
                           capture_output=True, cwd=self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None


def ensure_psycopg() -> bool:
    probe = subprocess.run([PYTHON, "-c", "import psycopg"], capture_output=True)
    if probe.returncode == 0:
        return True
    log("psycopg missing in the venv: pip install 'psycopg[binary]'")
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "psycopg[binary]"], capture_output=True)
    return subprocess.run([PYTHON, "-c", "import psycopg"], capture_output=True).returncode == 0


class Gunicorn:
    def __init__(self, app_spec: str, env: dict, workdir: str, name: str, workers: int, threads: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
        self.app_spec, self.workdir, self.name = app_spec, workdir, name
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(workdir, f"{name}-gunicorn.log")

    def start(self) -> None:
        logf = open(self.log_path, "ab")
        self.proc = PROCS.start(self.name, [GUNICORN, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
                                            self.app_spec], env=self.env, stdout=logf, stderr=logf,
                                stdin=subprocess.DEVNULL)
        logf.close()
        wait_http(self.url + ("/page" if "bare_app" in self.app_spec else "/healthz"), 90, self.proc, self.name)
        self.note_workers()

    def note_workers(self) -> None:
        if self.proc:
            PROCS.extra_pids.update(p for p in tree_pids(self.proc.pid) if p != self.proc.pid)

    def cpu(self) -> float:
        self.note_workers()
        return tree_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc:
            self.note_workers()
            PROCS.stop(self.proc)
            self.proc = None


class Platform:
    """tests.platform_server.PlatformServer in its own process (bench/platform_proc.py)."""

    def __init__(self, tool_url: str, workdir: str):
        logf = open(os.path.join(workdir, "platform.log"), "ab")
        self.proc = PROCS.start("platform", [PYTHON, "-m", "bench.platform_proc", tool_url], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=logf, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        logf.close()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the platform process did not start (see platform.log)")
        info = json.loads(line)
        self.issuer, self.client_id = info["issuer"], info["client_id"]
        self.deployment_id, self.registration = info["deployment_id"], info["registration"]
        self.http = requests.Session()

    def call(self, path: str, body=None):
        r = (self.http.post(self.issuer + path, json=body, timeout=30) if body is not None
             else self.http.get(self.issuer + path, timeout=30))
        r.raise_for_status()
        return r.json()

    def stats(self) -> dict:
        return self.call("/_bench/stats")

    def login_urls(self, specs: list[dict]) -> list[str]:
        return self.call("/_bench/users", {"specs": specs})

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        PROCS.stop(self.proc, timeout=10)


def spec(user_id: str, *, role: str = LEARNER, context_id: str, resource_link_id: str, custom: dict,
         lineitems_url: str | None = None, lineitem_url: str | None = None, name: str = "Asha Patel") -> dict:
    given, family = name.split()[0], name.split()[-1]
    return {"user_id": user_id, "roles": [role], "name": name, "email": f"{user_id}@example.org",
            "given_name": given, "family_name": family, "context_id": context_id,
            "context_title": "NPQSL Cohort (bench)", "resource_link_id": resource_link_id,
            "resource_link_title": "NPQSL", "custom": custom, "lineitems_url": lineitems_url,
            "lineitem_url": lineitem_url}


# ---------------------------------------------------------------------------------------------
# a complete launch, as a browser does it
# ---------------------------------------------------------------------------------------------

AUTO_POST = re.compile(r"<form method='post' action='([^']+)'[^>]*>.*?name='id_token' value='([^']*)'.*?"
                       r"name='state' value='([^']*)'", re.S)
REDIRECTS = (301, 302, 303, 307, 308)


class LaunchFailed(Exception):
    pass


class LeanClient:
    """A browser-like HTTP/1.1 client for the load generator: keep-alive connections per host and a cookie
    jar per host, on http.client. It needs several times less CPU per request than requests.Session, so the
    load generator (which shares the 2 cores with the servers) takes less from what is measured."""

    def __init__(self):
        self.conns: dict[str, http.client.HTTPConnection] = {}
        self.cookies: dict[str, dict[str, str]] = {}

    def request(self, method: str, url: str, form: dict | None = None) -> tuple[int, dict, bytes]:
        u = urlsplit(url)
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        headers = {"Host": u.netloc, "User-Agent": "npq-bench", "Accept": "text/html,*/*", "Accept-Encoding": "identity"}
        jar = self.cookies.setdefault(u.netloc, {})
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (0, 1):
            conn = self.conns.get(u.netloc)
            if conn is None:
                conn = self.conns[u.netloc] = http.client.HTTPConnection(u.hostname, u.port, timeout=HTTP_TIMEOUT)
            reused = conn.sock is not None
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest, ConnectionResetError,
                    BrokenPipeError):
                conn.close()
                if not reused or attempt:  # only a keep-alive connection the server had closed is retried
                    raise
        if resp.will_close:
            conn.close()
        out = {}
        for k, v in resp.getheaders():
            k = k.lower()
            if k == "set-cookie":
                name, _, rest = v.partition("=")
                value, _, attrs = rest.partition(";")
                attrs = attrs.lower()
                if "max-age=0" in attrs or "expires=thu, 01 jan 1970" in attrs:
                    jar.pop(name.strip(), None)
                else:
                    jar[name.strip()] = value.strip()
            else:
                out[k] = v
        return resp.status, out, data

    def close(self) -> None:
        for c in self.conns.values():
            c.close()
        self.conns.clear()


def lean_launch(client: LeanClient, login_url: str):
    """The complete launch of run_level, on LeanClient; the same requests as complete_launch()."""
    t0 = time.perf_counter()
    st, h, _ = client.request("GET", login_url)
    if st != 302:
        raise LaunchFailed(f"login answered {st}")
    t1 = time.perf_counter()
    auth_url = urljoin(login_url, h["location"])
    st, h, body = client.request("GET", auth_url)
    m = AUTO_POST.search(body.decode("utf-8", "replace")) if st == 200 else None
    if m is None:
        raise LaunchFailed(f"auth answered {st}")
    t2 = time.perf_counter()
    action, id_token, state = (html.unescape(g) for g in m.groups())
    url = urljoin(auth_url, action)
    st, h, body = client.request("POST", url, {"id_token": id_token, "state": state})
    if st not in (302, 303):
        raise LaunchFailed(f"launch answered {st}")
    t3 = time.perf_counter()
    hops = 0
    while st in REDIRECTS:
        hops += 1
        if hops > 5:
            raise LaunchFailed("too many redirects")
        url = urljoin(url, h["location"])
        st, h, body = client.request("GET", url)
    if st != 200:
        raise LaunchFailed(f"first page answered {st}")
    t4 = time.perf_counter()
    return {"total": t4 - t0, "login": t1 - t0, "auth": t2 - t1, "launch": t3 - t2, "page": t4 - t3,
            "server_requests": 2 + hops}, body


def complete_launch(sess: requests.Session, login_url: str):
    """Tool login -> platform auth -> tool launch -> redirects -> first page, on a requests.Session (the
    functional measurements use it: they go on browsing with it). Returns (timings, page)."""
    t0 = time.perf_counter()
    r = sess.get(login_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    if r.status_code != 302:
        raise LaunchFailed(f"login answered {r.status_code}")
    t1 = time.perf_counter()
    auth_url = urljoin(login_url, r.headers["Location"])
    r = sess.get(auth_url, timeout=HTTP_TIMEOUT)
    m = AUTO_POST.search(r.text) if r.status_code == 200 else None
    if m is None:
        raise LaunchFailed(f"auth answered {r.status_code}")
    t2 = time.perf_counter()
    action, id_token, state = (html.unescape(g) for g in m.groups())
    r = sess.post(urljoin(auth_url, action), data={"id_token": id_token, "state": state}, allow_redirects=False,
                  timeout=HTTP_TIMEOUT)
    if r.status_code not in (302, 303):
        raise LaunchFailed(f"launch answered {r.status_code}")
    t3 = time.perf_counter()
    hops = 0
    while r.status_code in REDIRECTS:
        hops += 1
        if hops > 5:
            raise LaunchFailed("too many redirects")
        r = sess.get(urljoin(r.url, r.headers["Location"]), allow_redirects=False, timeout=HTTP_TIMEOUT)
    if r.status_code != 200:
        raise LaunchFailed(f"first page answered {r.status_code}")
    t4 = time.perf_counter()
    return {"total": t4 - t0, "login": t1 - t0, "auth": t2 - t1, "launch": t3 - t2, "page": t4 - t3,
            "server_requests": 2 + hops}, r


def make_clients(kind: str, n: int) -> list:
    return [LeanClient() for _ in range(n)] if kind == "lean" else [requests.Session() for _ in range(n)]


def any_launch(client, login_url: str):
    return lean_launch(client, login_url) if isinstance(client, LeanClient) else complete_launch(client, login_url)


def run_level(users: int, duration: float, sessions: list, login_urls: list[str], cpu_sources: dict,
              min_launches: int = 0, max_seconds: float = 0.0, fresh_connections: bool = False) -> dict:
    """Closed loop: each virtual user launches again as soon as its launch is done, until the deadline
    (and, for a warm-up, until min_launches have completed or max_seconds have passed)."""
    return summarize_level(users, [run_slice(users, duration, sessions, login_urls, cpu_sources, min_launches,
                                             max_seconds, fresh_connections)])


def run_slice(users: int, duration: float, sessions: list, login_urls: list[str], cpu_sources: dict,
              min_launches: int = 0, max_seconds: float = 0.0, fresh_connections: bool = False) -> dict:
    """One closed-loop run, as raw figures (summarize_level makes a level of one or more of them)."""
    results: list = []
    barrier = threading.Barrier(users + 1)
    stop_at = [0.0, 0.0]

    def go_on() -> bool:
        now = time.perf_counter()
        if now < stop_at[0]:
            return True
        return len(results) < min_launches and now < stop_at[1]

    def user(i: int) -> None:
        barrier.wait()
        while go_on():
            t = time.perf_counter()
            try:
                timing, _ = any_launch(sessions[i], login_urls[i])
                results.append(("ok", timing))
                if fresh_connections:
                    # A keep-alive connection stays with the gunicorn worker that accepted it: reconnecting
                    # spreads the warm-up over every worker, so none is still cold when measuring starts.
                    sessions[i].close()
            except Exception as exc:  # counted, never fatal
                results.append(("error", f"{type(exc).__name__}: {str(exc)[:120]}", time.perf_counter() - t))

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    cpu0 = {k: f() for k, f in cpu_sources.items()}
    busy0 = system_busy()
    stop_at[0] = time.perf_counter() + duration
    stop_at[1] = time.perf_counter() + max(duration, max_seconds)
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join(max(duration, max_seconds) + 3 * HTTP_TIMEOUT)
    elapsed = time.perf_counter() - start
    cpu1 = {k: f() for k, f in cpu_sources.items()}
    busy1 = system_busy()
    return {"results": results, "elapsed": elapsed, "cpu": {k: cpu1[k] - cpu0[k] for k in cpu_sources},
            "busy": busy1 - busy0, "loadavg": os.getloadavg()[0]}


def summarize_level(users: int, slices: list[dict]) -> dict:
    results = [r for s in slices for r in s["results"]]
    elapsed = sum(s["elapsed"] for s in slices)
    cpu = {k: sum(s["cpu"][k] for s in slices) for k in slices[0]["cpu"]}
    busy = sum(s["busy"] for s in slices)
    ours = sum(cpu.values())
    ok = [r[1] for r in results if r[0] == "ok"]
    errors = collections.Counter(r[1] for r in results if r[0] == "error")
    totals = [x["total"] * 1000 for x in ok]
    n = len(ok)
    out = {"users": users, "launches": n, "errors": sum(errors.values()), "error_kinds": dict(errors.most_common(5)),
           "seconds": elapsed, "rate": n / elapsed if elapsed else 0.0, "slices": len(slices),
           "p50": pct(totals, 50), "p95": pct(totals, 95), "p99": pct(totals, 99),
           "server_requests": (ok[0]["server_requests"] if ok else 0),
           "machine_busy": busy / elapsed if elapsed else 0.0, "loadavg": slices[-1]["loadavg"],
           "other_load": max(0.0, (busy - ours) / elapsed) if elapsed else 0.0}
    for step in ("login", "auth", "launch", "page"):
        out["p50_" + step] = pct([x[step] * 1000 for x in ok], 50)
    for k, used in cpu.items():
        out["cpu_" + k] = used * 1000 / n if n else float("nan")
    return out


# ---------------------------------------------------------------------------------------------
# profiling (py-spy, when a target is missed)
# ---------------------------------------------------------------------------------------------

def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    for marker in ("lti_tool/", "bench/", "tests/", "wsgi.py", "templates/"):
        if marker in path:
            return marker + path.split(marker, 1)[1] if not marker.endswith(".py") else marker
    return path


def summarize_pyspy(raw_path: str, top: int = 14) -> dict:
    incl: collections.Counter = collections.Counter()
    selfc: collections.Counter = collections.Counter()
    total = 0
    frame_re = re.compile(r"^(.*) \((.*?)(?::(\d+))?\)$")
    with open(raw_path) as fh:
        for line in fh:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not n.isdigit():
                continue
            n = int(n)
            total += n
            names = []
            for f in stack.split(";"):
                if not f or f.startswith("process ") or f.startswith("thread "):
                    continue
                m = frame_re.match(f)
                names.append(f"{m.group(1)} ({_short(m.group(2))})" if m else f)
            if not names:  # a GIL holder with no Python frame py-spy could read: left out of the shares
                total -= n
                continue
            for name in set(names):
                incl[name] += n
            selfc[names[-1]] += n
    app_frames = [(k, v) for k, v in incl.most_common() if "lti_tool/" in k][:top]
    lib_frames = [(k, v) for k, v in incl.most_common()
                  if any(s in k for s in ("load_pem_private_key", "jwcrypto/", "jwt/", "pylti1p3/", "sqlalchemy/orm/session",
                                           "sqlalchemy/engine/base", "jinja2/environment", "requests/sessions",
                                           "werkzeug/routing", "flask_wtf/csrf", "json/", "yaml/"))][:top]
    return {"samples": total, "inclusive_app": app_frames, "inclusive_lib": lib_frames,
            "self": selfc.most_common(top)}


def compact_pyspy(raw_path: str, dest: Path) -> None:
    """py-spy's collapsed stacks, without line numbers and process/thread frames, re-aggregated: the same
    profile in a file small enough to keep (flamegraph.pl or speedscope read it)."""
    frame_re = re.compile(r"^(.*) \((.*?)(?::\d+)?\)$")
    agg: collections.Counter = collections.Counter()
    with open(raw_path) as fh:
        for line in fh:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not n.isdigit():
                continue
            frames = []
            for f in stack.split(";"):
                if f.startswith("process ") or f.startswith("thread "):
                    continue
                m = frame_re.match(f)
                frames.append(f"{m.group(1)} ({_short(m.group(2))})" if m else f)
            # Drop the server's boilerplate above the app (gunicorn's loop, thread bootstrap).
            for anchor in ("Flask.wsgi_app (flask/app.py)", "main.<locals>.loop (bench/grade_worker.py)"):
                if anchor in frames:
                    frames = frames[frames.index(anchor):]
                    break
            if frames:
                agg[";".join(frames)] += int(n)
    with open(dest, "w") as out:
        for stack, n in sorted(agg.items()):
            out.write(f"{stack} {n}\n")


def pyspy_record(pid: int, seconds: float, out_raw: str, subprocesses: bool) -> subprocess.Popen | None:
    if not PYSPY:
        return None
    cmd = [PYSPY, "record", "--pid", str(pid), "--rate", "250", "--duration", str(int(seconds)), "--format", "raw",
           "--nonblocking", "--gil", "-o", out_raw]
    if subprocesses:
        cmd.append("--subprocesses")
    return PROCS.start("py-spy", cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stop_signal=signal.SIGINT)


# ---------------------------------------------------------------------------------------------
# one database backend: the tool, the platform, and every measurement
# ---------------------------------------------------------------------------------------------

class Backend:
    def __init__(self, name: str, db_url: str, args, workdir: str, keycache: bool = False):
        self.name, self.db_url, self.args, self.workdir = name, db_url, args, workdir
        self.keycache = keycache
        self.keys = os.path.join(workdir, "keys")
        self.env = {**os.environ, "NPQ_CONFIG": "test", "DATABASE_URL": db_url, "KEYS_DIR": self.keys,
                    "SECRET_KEY": secrets.token_hex(32), "PYTHONUNBUFFERED": "1"}
        if keycache:
            self.env["BENCH_KEYCACHE"] = "1"
        for k in ("FLASK_APP", "SANDBOX_ENABLED", "DEMO_DATA", "PROXY_COUNT", "CONTENT_PACKS_DIR"):
            self.env.pop(k, None)
        self.tool: Gunicorn | None = None
        self.platform: Platform | None = None
        self.app = None
        self.platform_pk = 0
        self.deployment_pk = 0
        self.results: dict = {"backend": name}

    # -- setup --------------------------------------------------------------------------------
    def setup(self) -> None:
        t = time.perf_counter()
        subprocess.run([FLASK, "--app", "wsgi", "db", "upgrade"], cwd=str(APP_DIR), env=self.env, check=True,
                       capture_output=True)
        self.tool = Gunicorn("bench.whatif_wsgi:app" if self.keycache else "wsgi:app", self.env, self.workdir,
                             f"tool-{self.name}", self.args.workers, self.args.threads)
        self.platform = Platform(self.tool.url, self.workdir)
        self._app_and_register()
        self.tool.start()
        log(f"{self.name}: tool on {self.tool.url} (gunicorn {self.args.workers} workers x {self.args.threads} "
            f"threads), platform on {self.platform.issuer}; ready in {time.perf_counter() - t:.1f}s")

    def _app_and_register(self) -> None:
        import logging

        from lti_tool import create_app
        from lti_tool.db import db
        from lti_tool.models import ACTIVE, Deployment, Platform as PlatformRow

        self.app = create_app({"CONFIG_NAME": "test", "DATABASE_URL": self.db_url, "KEYS_DIR": self.keys,
                               "SECRET_KEY": self.env["SECRET_KEY"]})
        logging.getLogger().setLevel(logging.WARNING)
        with self.app.app_context():
            s = db()
            row = PlatformRow(**self.platform.registration, status=ACTIVE, registered_via="test")
            s.add(row)
            s.flush()
            dep = Deployment(platform_id=row.id, deployment_id=self.platform.deployment_id, status=ACTIVE)
            s.add(dep)
            s.commit()
            self.platform_pk, self.deployment_pk = row.id, dep.id

    def teardown(self) -> None:
        if self.tool:
            self.tool.stop()
            self.results["log_issues"] = scan_log(self.tool.log_path)
        if self.platform:
            self.platform.stop()
        if self.app is not None:
            self.app.extensions["db_engine"].dispose()

    # -- launches -----------------------------------------------------------------------------
    def bench_launches(self) -> None:
        """The launch levels of this backend alone (the what-if run); the main run interleaves every server's
        levels (interleaved_levels)."""
        self.launch_warmup()
        for users in self.args.users:
            self.add_level(users, [self.run_slice(users, self.args.duration)])
        self.finish_launches()

    def launch_warmup(self) -> None:
        a = self.args
        n = max(a.users)
        specs = [spec(f"bench-user-{i:03d}", context_id="bench-launch-course", resource_link_id="rl-course-home",
                      custom={"npq_programme": "NPQSL"}, name=f"Learner{i} Bench{i}") for i in range(n)]
        self._launch_urls = self.platform.login_urls(specs)
        self._launch_sessions = make_clients(a.client, n)
        self._cpu = {"tool": self.tool.cpu, "platform": self.platform.cpu, "loadgen": own_cpu}
        jwks0 = self.platform.stats()["jwks_fetches"]
        want = max(64, 4 * a.workers * a.threads)
        log(f"{self.name}: launch warm-up at {n} users, new connections per launch (at least {a.warmup:.0f}s and "
            f"{want} launches, so every worker has served each page)")
        warm = run_level(n, a.warmup, self._launch_sessions, self._launch_urls, self._cpu, min_launches=want,
                         max_seconds=a.warmup_max, fresh_connections=True)
        warm["jwks_fetches"] = self.platform.stats()["jwks_fetches"] - jwks0
        self.results["warmup"] = warm
        log(f"{self.name}: warm-up: {warm['launches']} launches in {warm['seconds']:.1f}s, tool CPU "
            f"{warm['cpu_tool']:.1f} ms/launch, JWKS fetches {warm['jwks_fetches']}, errors {warm['errors']}")
        if warm["launches"] == 0:
            raise RuntimeError(f"no launch succeeded during warm-up: {warm['error_kinds']}")
        self.results["launch"] = []
        self._jwks_mark = self.platform.stats()["jwks_fetches"]

    def run_slice(self, users: int, seconds: float) -> dict:
        return run_slice(users, seconds, self._launch_sessions, self._launch_urls, self._cpu)

    def add_level(self, users: int, slices: list[dict]) -> None:
        res = summarize_level(users, slices)
        jwks = self.platform.stats()["jwks_fetches"]
        res["jwks_fetches"], self._jwks_mark = jwks - self._jwks_mark, jwks
        log(f"{self.name}: {users:>2} users: {res['launches']} launches, {res['rate']:.1f}/s, p50 {res['p50']:.0f} ms, "
            f"p95 {res['p95']:.0f} ms, tool CPU {res['cpu_tool']:.1f} ms/launch, errors {res['errors']}")
        self.results["launch"].append(res)

    def finish_launches(self) -> None:
        self.results["jwks_fetches"] = sum(x["jwks_fetches"] for x in self.results["launch"])
        self.results["jwks_total"] = self.platform.stats()["jwks_fetches"]


    def bench_first_requests(self, n: int = 100) -> None:
        """The first launches after a restart against the hundredth: the tool is restarted (the platform's
        keys are already in the database, as after a deploy), then one user launches n times in a row, each
        launch on new connections (so the first ones meet each worker's first requests). Measured with the
        warm-up (gunicorn.conf.py's default) and without it (GUNICORN_PRELOAD=0 NPQ_WARM_UP=0)."""
        url = self.platform.login_urls([spec("bench-first", context_id="bench-first", resource_link_id="rl-first",
                                             custom={"npq_programme": "NPQSL"}, name="First Person")])[0]
        lean_launch(LeanClient(), url)
        out = {}
        # One start without the warm-up; three with it (one machine hiccup among the first 8 launches would
        # decide a single start): the target takes the middle one.
        for label, extra, starts in (("without warm-up", {"GUNICORN_PRELOAD": "0", "NPQ_WARM_UP": "0"}, 1),
                                     ("with warm-up", {}, 3)):
            rounds = [self._first_launches(label, extra, url, n) for _ in range(starts)]
            rounds.sort(key=lambda x: x["max_first8"] / x["median_tail"])
            out[label] = {**rounds[len(rounds) // 2], "rounds": rounds}
        self.results["first_requests"] = out

    def _first_launches(self, label: str, extra: dict, url: str, n: int) -> dict:
        self.tool.stop()
        saved = dict(self.tool.env)
        self.tool.env.update(extra)
        t = time.perf_counter()
        self.tool.start()
        started = time.perf_counter() - t
        self.tool.env = saved
        runs = []
        for _ in range(n):
            client = LeanClient()
            timing, _ = lean_launch(client, url)
            client.close()
            runs.append(timing)
        tail = runs[int(n * 0.9):]
        res = {"start_s": started, "first": runs[0], "max_first8": max(r["total"] for r in runs[:8]),
               "median_tail": median([r["total"] for r in tail]),
               "median_tail_steps": {k: median([r[k] for r in tail]) for k in ("login", "launch", "page")}}
        log(f"{self.name}: first launch after start-up ({label}): {runs[0]['total'] * 1000:.0f} ms (login "
            f"{runs[0]['login'] * 1000:.0f}, launch {runs[0]['launch'] * 1000:.0f}, page {runs[0]['page'] * 1000:.0f}); "
            f"slowest of the first 8 {res['max_first8'] * 1000:.0f} ms (the first 8: " + ", ".join(
                f"{r['total'] * 1000:.0f} = {r['login'] * 1000:.0f}+{r['auth'] * 1000:.0f}+{r['launch'] * 1000:.0f}"
                f"+{r['page'] * 1000:.0f}" for r in runs[:8]) + f"); launches {int(n * 0.9) + 1}-{n}: "
            f"median {res['median_tail'] * 1000:.0f} ms; gunicorn up in {started:.1f} s")
        return res

    def count_statements(self, pg: "Postgres", launches: int = 20) -> None:
        """PostgreSQL only: the statements the tool sends per request, from the server's own log
        (log_statement = all while one user launches `launches` times, one step at a time). Every logged
        statement is one round trip, psycopg's own BEGIN and COMMIT included."""
        import psycopg

        log_path = os.path.join(pg.tmp, "server.log")
        admin = psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres", autocommit=True)
        steps = ("login", "launch", "page")
        counts = {k: collections.Counter() for k in steps}
        client = LeanClient()
        url = self._launch_urls[0]

        def mark() -> int:
            time.sleep(0.05)  # the server writes its log asynchronously
            return os.path.getsize(log_path)

        def read(start: int, into: collections.Counter) -> None:
            with open(log_path, errors="replace") as fh:
                fh.seek(start)
                for line in fh:
                    m = re.search(r"LOG:  (?:statement|execute [^:]*): (\w+)", line)
                    if m:
                        into[m.group(1).upper()] += 1
        try:
            admin.execute("ALTER SYSTEM SET log_statement = 'all'")
            admin.execute("SELECT pg_reload_conf()")
            time.sleep(0.5)
            for _ in range(launches):
                a = mark()
                st, h, _ = client.request("GET", url)
                b = mark()
                read(a, counts["login"])
                auth_url = urljoin(url, h["location"])
                st, h, body = client.request("GET", auth_url)
                action, id_token, state = (html.unescape(g) for g in AUTO_POST.search(body.decode()).groups())
                a = mark()
                launch_url = urljoin(auth_url, action)
                st, h, _ = client.request("POST", launch_url, {"id_token": id_token, "state": state})
                b = mark()
                read(a, counts["launch"])
                st, h, _ = client.request("GET", urljoin(launch_url, h["location"]))
                read(b, counts["page"])
                if st != 200:
                    raise RuntimeError(f"statement count: first page answered {st}")
        finally:
            admin.execute("ALTER SYSTEM RESET log_statement")
            admin.execute("SELECT pg_reload_conf()")
            admin.close()
            client.close()
        self.results["statements"] = {k: {kind: n / launches for kind, n in c.items()} for k, c in counts.items()}
        log(f"{self.name}: statements per request: " + "; ".join(
            f"{k} {sum(v.values()):.1f}" for k, v in self.results["statements"].items()))

    def profile_launches(self, seconds: float) -> None:
        raw = os.path.join(self.workdir, f"pyspy-launch-{self.name}.txt")
        spy = pyspy_record(self.tool.proc.pid, seconds + 1, raw, subprocesses=True)
        if spy is None:
            self.results["profile_launch"] = None
            return
        time.sleep(0.8)
        cpu = {"tool": self.tool.cpu}
        res = run_level(8, seconds, self._launch_sessions, self._launch_urls, cpu)
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        PROCS.stop(spy)
        if os.path.exists(raw) and os.path.getsize(raw):
            summary = summarize_pyspy(raw)
            summary["launches"] = res["launches"]
            self.results["profile_launch"] = summary
            compact_pyspy(raw, BENCH / f"profile-launch-{self.name}.txt")
            log(f"{self.name}: launch profile: {summary['samples']} samples over {res['launches']} launches")

    # -- marking queue --------------------------------------------------------------------------
    def _seed_course(self, context_id: str, n: int) -> None:
        from sqlalchemy import insert, select

        from lti_tool.db import db, utcnow
        from lti_tool.models import Course, Enrolment, Person, WriteupDoc

        families = ["Okoye", "Khan", "Wei", "Patel", "Smith", "Jones", "Haddad", "Nowak", "Garcia", "Reid", "Ahmed",
                    "Brown", "Taylor", "Evans", "Murphy", "O'Brien"]
        statuses = ["draft", "submitted", "marked", "returned", "released"]
        with self.app.app_context():
            s = db()
            course = s.scalar(select(Course).where(Course.platform_id == self.platform_pk,
                                                   Course.context_id == context_id))
            now = utcnow()
            prefix = f"{context_id}-p"
            rows = []
            for i in range(n):
                fam = families[i % len(families)]
                rows.append({"platform_id": self.platform_pk, "sub": f"{prefix}{i:05d}", "name": f"Person{i} {fam}",
                             "given_name": f"Person{i}", "family_name": fam, "email": f"p{i}@{context_id}.example.org",
                             "created_at": now})
            for chunk in range(0, n, 1000):
                s.execute(insert(Person), rows[chunk:chunk + 1000])
            ids = [pid for (pid,) in s.execute(select(Person.id).where(Person.platform_id == self.platform_pk,
                                                                        Person.sub.like(prefix + "%")))]
            enrol = [{"person_id": pid, "course_id": course.id, "role": "participant", "lti_roles": [LEARNER],
                      "source": "roster", "updated_at": now} for pid in ids]
            docs = []
            for j, pid in enumerate(ids):
                if j % 5 in (0, 1, 2):  # three in five have started their write-up
                    st = statuses[j % len(statuses)]
                    docs.append({"person_id": pid, "course_id": course.id, "template_ref": WRITEUP_REF,
                                 "content": {}, "version": 1, "status": "submitted" if st in ("marked", "released") else st,
                                 "queue_status": st, "submitted_at": now if st != "draft" else None,
                                 "updated_at": now})
            for chunk in range(0, len(enrol), 1000):
                s.execute(insert(Enrolment), enrol[chunk:chunk + 1000])
            for chunk in range(0, len(docs), 1000):
                s.execute(insert(WriteupDoc), docs[chunk:chunk + 1000])
            s.commit()
        if self.db_url.startswith("postgresql"):
            with self.app.app_context():
                from sqlalchemy import text
                with self.app.extensions["db_engine"].connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))

    def bench_queue(self) -> None:
        """Both courses are set up first, then their queue pages are fetched alternately (50, 5,000, 50, ...),
        so that both sizes see the same background load on this shared machine."""
        sizes_n = (50, 5000)
        pages, seed_s = {}, {}
        for n in sizes_n:
            ctx_id = f"bench-queue-{n}"
            url = self.platform.login_urls([spec(f"bench-tutor-{n}", role=INSTRUCTOR, context_id=ctx_id,
                                                 resource_link_id=f"rl-queue-{n}", custom={"npq_item": WRITEUP_REF},
                                                 name="Tom Reid")])[0]
            sess = requests.Session()
            _, page = complete_launch(sess, url)
            if "/marking/NPQSL/risk-assessment" not in page.url:
                raise RuntimeError(f"tutor launch did not open the marking queue: {page.url}")
            t = time.perf_counter()
            self._seed_course(ctx_id, n)
            seed_s[n] = time.perf_counter() - t
            pages[n] = (sess, page.url)
        for n in sizes_n:
            for _ in range(3):
                pages[n][0].get(pages[n][1], timeout=HTTP_TIMEOUT)
        times = {n: [] for n in sizes_n}
        sizes = {n: [] for n in sizes_n}
        bad = dict.fromkeys(sizes_n, 0)
        cpu = dict.fromkeys(sizes_n, 0.0)
        for _ in range(self.args.queue_gets):
            for n in sizes_n:
                sess, url = pages[n]
                c0 = self.tool.cpu()
                t = time.perf_counter()
                r = sess.get(url, timeout=HTTP_TIMEOUT)
                times[n].append((time.perf_counter() - t) * 1000)
                cpu[n] += self.tool.cpu() - c0
                sizes[n].append(len(r.content))
                if r.status_code != 200 or f"All ({n})" not in r.text:
                    bad[n] += 1
        out = {}
        for n in sizes_n:
            out[n] = {"median": median(times[n]), "p95": pct(times[n], 95), "min": min(times[n]),
                      "bytes": median(sizes[n]), "errors": bad[n], "seed_s": seed_s[n],
                      "cpu": cpu[n] * 1000 / len(times[n])}
            log(f"{self.name}: queue of {n}: median {out[n]['median']:.1f} ms (min {out[n]['min']:.1f}, p95 "
                f"{out[n]['p95']:.1f}, tool CPU {out[n]['cpu']:.1f} ms/req, {bad[n]} bad)")
        self.results["queue"] = out

    # -- autosave ---------------------------------------------------------------------------------
    def bench_autosave(self) -> None:
        from tests.browser import csrf_token, forms

        url = self.platform.login_urls([spec("bench-writer", context_id="bench-autosave", resource_link_id="rl-ra",
                                             custom={"npq_item": WRITEUP_REF}, name="Asha Patel")])[0]
        sess = requests.Session()
        _, page = complete_launch(sess, url)
        fields = forms(page.text)[-1].fields
        pairs = []
        for k, v in fields.items():
            if k[:2] in ("f.", "t.", "x.", "r."):
                for item in (v if isinstance(v, list) else [v]):
                    pairs.append([k, item])
        version = int(fields["version"])
        token = csrf_token(page.text)
        target = next((i for i, (k, _) in enumerate(pairs) if k == "f.overview.description"),
                      next(i for i, (k, _) in enumerate(pairs) if k.startswith("f.")))
        post_url = page.url.split("#")[0].rstrip("/") + "/draft"
        headers = {"X-CSRFToken": token, "Accept": "application/json"}
        times, errors = [], collections.Counter()
        base_text = ("We will introduce a daily ten-minute fluency routine in Year 7 tutor time, modelled by "
                     "the English team and checked each half-term. ")
        cpu0 = self.tool.cpu()
        start = time.perf_counter()
        stop = start + self.args.autosave_seconds
        i = 0
        while time.perf_counter() < stop:
            i += 1
            pairs[target][1] = base_text + f"(draft {i})"
            t = time.perf_counter()
            r = sess.post(post_url, json={"version": version, "csrf_token": token, "pairs": pairs}, headers=headers,
                          timeout=HTTP_TIMEOUT)
            times.append((time.perf_counter() - t) * 1000)
            if r.status_code == 200 and r.json().get("version") == version + 1:
                version += 1
            else:
                errors[f"{r.status_code}"] += 1
                if r.status_code == 409:
                    version = r.json().get("version", version)
        elapsed = time.perf_counter() - start
        cpu = (self.tool.cpu() - cpu0) * 1000 / max(1, len(times))
        self.results["autosave"] = {"requests": len(times), "rate": len(times) / elapsed, "p50": median(times),
                                    "p95": pct(times, 95), "errors": sum(errors.values()), "error_kinds": dict(errors),
                                    "cpu": cpu, "pairs": len(pairs), "body_bytes": len(json.dumps(
                                        {"version": version, "csrf_token": token, "pairs": pairs}))}
        log(f"{self.name}: autosave {self.results['autosave']['rate']:.1f} req/s, p50 {median(times):.1f} ms, "
            f"errors {sum(errors.values())}")

    # -- page weight ------------------------------------------------------------------------------
    def bench_page_weight(self) -> None:
        url = self.platform.login_urls([spec("bench-reader", context_id="bench-weight", resource_link_id="rl-reading",
                                             custom={"npq_item": ACTIVITY_REF}, name="Asha Patel")])[0]
        sess = requests.Session()
        _, page = complete_launch(sess, url)
        if "/activities/" not in page.url:
            raise RuntimeError(f"participant launch did not open the activity: {page.url}")

        class Assets(HTMLParser):
            def __init__(self):
                super().__init__()
                self.found: list[tuple[str, str]] = []

            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
                    self.found.append(("css", a["href"]))
                elif tag == "script" and a.get("src"):
                    self.found.append(("js", a["src"]))

        def fetch(u: str):
            r = sess.get(u, stream=True, timeout=HTTP_TIMEOUT)
            raw = r.raw.read(decode_content=False)
            enc = r.headers.get("Content-Encoding", "")
            body = gzip.decompress(raw) if enc == "gzip" else raw
            return r.status_code, body, len(raw), enc

        status, body, wire, enc = fetch(page.url)
        parser = Assets()
        parser.feed(body.decode("utf-8", "replace"))
        items = [("html", "the activity page", body, wire, enc)]
        for kind, href in dict.fromkeys(parser.found):
            st, b, w, e = fetch(urljoin(page.url, href))
            items.append((kind, href if st == 200 else f"{href} ({st})", b, w, e))
        rows = [{"kind": k, "what": what, "bytes": len(b), "wire": w, "encoding": e or "none",
                 "gzip": len(gzip.compress(b, 6))} for k, what, b, w, e in items]
        self.results["page"] = {"rows": rows, "bytes": sum(r["bytes"] for r in rows), "wire": sum(r["wire"] for r in rows),
                                "gzip": sum(r["gzip"] for r in rows),
                                "server_compresses": any(r["encoding"] != "none" for r in rows)}
        # The course home a launch opens (same stylesheet and scripts), and the framework page it links to.
        for key, path in (("programme_html", "/programme"), ("framework_html", "/framework")):
            st, b, _, _ = fetch(page.url.split("/activities/")[0] + path)
            if st == 200:
                self.results["page"][key] = {"bytes": len(b), "gzip": len(gzip.compress(b, 6))}
        log(f"{self.name}: activity page {self.results['page']['bytes']:,} B, gzip {self.results['page']['gzip']:,} B "
            f"({len(rows)} files)")

    # -- grade delivery -----------------------------------------------------------------------------
    def _seed_outbox(self, n: int, tag: str) -> tuple[str, set[str]]:
        from sqlalchemy import insert, select

        from lti_tool.db import db, utcnow
        from lti_tool.grades.outbox import ags_timestamp
        from lti_tool.models import Course, GradeOutbox, Person

        item = self.platform.call("/_bench/line_item", {"label": "Risk assessment", "score_maximum": 100,
                                                         "resource_id": WRITEUP_REF})["id"]
        subs = {f"grade-{tag}-{i:05d}" for i in range(n)}
        with self.app.app_context():
            s = db()
            course = Course(platform_id=self.platform_pk, deployment_id=self.deployment_pk,
                            context_id=f"bench-grades-{tag}", title="Grades (bench)", programme_code="NPQSL")
            s.add(course)
            s.flush()
            now = utcnow()
            s.execute(insert(Person), [{"platform_id": self.platform_pk, "sub": sub, "name": f"Graded {sub}",
                                        "created_at": now} for sub in sorted(subs)])
            people = dict(s.execute(select(Person.sub, Person.id).where(Person.sub.in_(subs))).all())
            stamp = ags_timestamp()
            rows = []
            for i, sub in enumerate(sorted(subs)):
                rows.append({
                    "platform_id": self.platform_pk, "course_id": course.id, "person_id": people[sub],
                    "line_item_url": item, "lineitems_url": self.platform.issuer + "/lineitems",
                    "resource_id": WRITEUP_REF, "resource_link_id": None, "label": "Risk assessment",
                    "score": {"userId": sub, "scoreGiven": 40 + i % 60, "scoreMaximum": 100,
                              "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                              "timestamp": stamp, "comment": "Pass. Clear and well judged."},
                    "source": "writeup-mark", "source_id": 100000 + i, "status": "pending", "attempts": 0,
                    "next_attempt_at": now, "created_at": now})
            for chunk in range(0, len(rows), 500):
                s.execute(insert(GradeOutbox), rows[chunk:chunk + 500])
            s.commit()
        return item, subs

    def _outbox_counts(self, subs_like: str) -> dict:
        from sqlalchemy import func, select

        from lti_tool.db import db
        from lti_tool.models import Course, GradeOutbox

        with self.app.app_context():
            q = (select(GradeOutbox.status, func.count()).join(Course, Course.id == GradeOutbox.course_id)
                 .where(Course.context_id == subs_like).group_by(GradeOutbox.status))
            counts = dict(db().execute(q).all())
            db().rollback()
        return counts

    def _wait_idle(self, pids: list[int], timeout: float = 120.0) -> None:
        """Wait until freshly started worker processes have finished starting: every one of them used less than
        30 ms of CPU in the last second (an idle `grades work` polls every 2 s)."""
        end = time.time() + timeout
        last = {p: proc_cpu(p) for p in pids}
        time.sleep(2.0)
        while time.time() < end:
            time.sleep(1.0)
            now = {p: proc_cpu(p) for p in pids}
            if max(now[p] - last[p] for p in pids) < 0.03:
                return
            last = now

    def bench_grades(self, n: int, procs: int, threads: int, tag: str, profile: bool = False,
                     mode: str = "threads") -> dict:
        """mode "cli": `flask --app wsgi grades work` processes (the tool's own worker, one deliverer each),
        already running and idle when the marks are released. mode "threads": bench/grade_worker.py
        processes of `threads` threads each, started first, marks seeded, then told to go."""
        self.platform.call("/_bench/reset_scores", {})
        wlog = os.path.join(self.workdir, f"grade-workers-{tag}.log")
        workers = []
        item = subs = None
        if mode == "cli":
            for _ in range(procs):
                with open(wlog, "ab") as errf:
                    workers.append(PROCS.start("grades-work", [FLASK, "--app", "wsgi", "grades", "work"], env=self.env,
                                               stdin=subprocess.DEVNULL, stdout=errf, stderr=errf))
            self._wait_idle([w.pid for w in workers])
            threads = 1
        else:
            item, subs = self._seed_outbox(n, tag)
            for _ in range(procs):
                with open(wlog, "ab") as errf:
                    workers.append(PROCS.start("grade-worker", [PYTHON, "-m", "bench.grade_worker", str(threads)],
                                               env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                               stderr=errf, text=True))
            for w in workers:
                if w.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"a grade worker did not start (see {wlog})")
        self.platform.call("/_bench/gradebook", {"delay_next": n * 10, "delay_seconds": 0.1})
        stats0 = self.platform.stats()
        tool_cpu0 = self.tool.cpu()
        wcpu0 = {w.pid: proc_cpu(w.pid) for w in workers}
        spy = None
        raw = os.path.join(self.workdir, f"pyspy-grades-{self.name}.txt")
        if profile:
            spy = pyspy_record(workers[0].pid, 120, raw, subprocesses=False)
            time.sleep(0.8)
        deadline = self.args.grade_timeout
        if mode == "cli":
            item, subs = self._seed_outbox(n, tag)  # released while the workers run: timed from here
            start = time.perf_counter()
        else:
            start = time.perf_counter()
            for w in workers:
                w.stdin.write("go\n")
                w.stdin.flush()
        counts = {}
        while time.perf_counter() - start < deadline:
            counts = self._outbox_counts(f"bench-grades-{tag}")
            if counts.get("pending", 0) == 0:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        finished = counts.get("pending", 0) == 0
        died = [w for w in workers if w.poll() is not None]
        wcpu1 = {w.pid: proc_cpu(w.pid) for w in workers if w.poll() is None}
        reports = []
        for w in workers:
            if mode == "threads":
                try:
                    w.wait(timeout=20)
                    reports.append(w.stdout.read())
                except subprocess.TimeoutExpired:
                    pass
            PROCS.stop(w, timeout=10)
        if spy is not None:
            PROCS.stop(spy, timeout=10)
            if os.path.exists(raw) and os.path.getsize(raw):
                self.results["profile_grades"] = summarize_pyspy(raw)
                compact_pyspy(raw, BENCH / f"profile-grades-{self.name}.txt")
        self.platform.call("/_bench/gradebook", {"delay_next": 0})
        stats1 = self.platform.stats()
        scores = self.platform.call("/_bench/scores")
        per_user = collections.Counter(u for it, u, _ in scores if it == item)
        dupes = sum(1 for c in per_user.values() if c > 1)
        missing = len(subs - set(per_user))
        # CPU of the workers while delivering (processes that died are counted up to their last reading).
        worker_cpu = sum(wcpu1.get(pid, c0) - c0 for pid, c0 in wcpu0.items())
        worker_errors: collections.Counter = collections.Counter()
        exc_line = re.compile(r"^[\w.]+(Error|Exception): ")
        with open(wlog, errors="replace") as fh:
            for line in fh:
                if line.startswith("WORKER-ERROR "):
                    worker_errors[line[13:].strip()[:150]] += 1
                elif mode == "cli" and exc_line.match(line):
                    worker_errors[line.strip()[:150]] += 1
        res = {"n": n, "procs": procs, "threads": threads, "mode": mode, "seconds": elapsed, "finished": finished,
               "worker_errors": dict(worker_errors.most_common(3)), "worker_error_count": sum(worker_errors.values()),
               "workers_died": len(died),
               "delivered": counts.get("delivered", 0), "failed": counts.get("failed", 0),
               "pending": counts.get("pending", 0), "rate": counts.get("delivered", 0) / elapsed if elapsed else 0,
               "arrived": sum(per_user.values()), "unique": len(per_user), "duplicates": dupes, "missing": missing,
               "exactly_once": dupes == 0 and missing == 0 and sum(per_user.values()) == n,
               "score_posts": stats1["score_attempts"], "token_requests": stats1["token_requests"] - stats0["token_requests"],
               "worker_cpu_ms": worker_cpu * 1000 / max(1, n), "tool_cpu_s": self.tool.cpu() - tool_cpu0,
               "reports": [r.strip() for r in reports if r and r.strip()]}
        what = f"{procs} x `flask grades work`" if mode == "cli" else f"{procs}x{threads} deliver_due() threads"
        log(f"{self.name}: grades {tag}: {res['delivered']}/{n} delivered in {elapsed:.1f}s with {what}; exactly once: "
            f"{res['exactly_once']} ({dupes} duplicated, {missing} missing); worker CPU {res['worker_cpu_ms']:.1f} "
            f"ms/grade; worker errors {res['worker_error_count']}, workers died {len(died)}")
        return res


# ---------------------------------------------------------------------------------------------
# the bare Flask floor
# ---------------------------------------------------------------------------------------------

def scan_log(path: str) -> dict:
    """Counts of the lines in a gunicorn log that say something went wrong."""
    patterns = {"worker timeouts": "WORKER TIMEOUT", "tracebacks": "Traceback", "errors logged": " ERROR ",
                "database is locked": "database is locked", "warnings logged": " WARNING "}
    counts = dict.fromkeys(patterns, 0)
    exceptions: collections.Counter = collections.Counter()
    exc_line = re.compile(r"^[\w.]+(Error|Exception|Warning): ")
    try:
        with open(path, errors="replace") as fh:
            for line in fh:
                for k, pat in patterns.items():
                    if pat in line:
                        counts[k] += 1
                if exc_line.match(line):
                    exceptions[line.strip()[:160]] += 1
    except OSError:
        pass
    out = {k: v for k, v in counts.items() if v}
    if exceptions:
        out["exceptions"] = dict(exceptions.most_common(3))
    return out


SNAPSHOT_ITEMS = ("lti_tool", "templates", "config", "migrations", "static", "wsgi.py", "gunicorn.conf.py",
                  "tests/__init__.py", "tests/platform_server.py", "tests/browser.py", "bench/__init__.py",
                  "bench/run.py", "bench/bare_app.py", "bench/lti_floor_app.py", "bench/platform_proc.py", "bench/grade_worker.py",
                  "bench/whatif_wsgi.py")


def snapshot_app(dest: str) -> None:
    """Copy what the tool, the platform and the workers run from; they run from the copy (cwd first on
    sys.path, ahead of the editable install's finder)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.sqlite3*", ".pytest_cache")
    for item in SNAPSHOT_ITEMS:
        src, dst = ROOT / item, Path(dest) / item
        if not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=ignore)
        else:
            shutil.copy2(src, dst)
    (Path(dest) / "instance").mkdir(exist_ok=True)


def source_fingerprint(root: Path | None = None) -> str:
    """A hash of the application's code, templates, config and migrations: which version was measured."""
    import hashlib

    root = root or APP_DIR
    h = hashlib.sha256()
    files = []
    for folder, pattern in (("lti_tool", "**/*.py"), ("lti_tool", "**/*.yaml"), ("lti_tool/static", "*"),
                            ("templates", "**/*.html"), ("config", "*.py"), ("migrations", "**/*.py")):
        files += [p for p in (root / folder).glob(pattern) if p.is_file()]
    files += [root / "wsgi.py", root / "gunicorn.conf.py"]
    for p in sorted(set(files)):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return f"{h.hexdigest()[:16]} ({len(set(files))} files)"


def interleaved_levels(args, servers: list) -> None:
    """Every server's launch levels in turns: for each level, args.slices slices of each server, in the order
    of the list on even slices and reversed on odd ones (floor, tool, ..., tool, floor, ...). The LTI floors
    and the tools of both databases are all up meanwhile, so drift in the machine's speed (other sessions'
    work on it) falls on each alike, and the ratios between them (tool/floor, PostgreSQL/SQLite) compare
    like with like."""
    for users in args.users:
        slices: dict[int, list] = {id(x): [] for x in servers}
        for i in range(args.slices):
            for server in (servers if i % 2 == 0 else list(reversed(servers))):
                slices[id(server)].append(server.run_slice(users, args.duration / args.slices))
        for server in servers:
            server.add_level(users, slices[id(server)])


class LtiFloor:
    """bench/lti_floor_app.py under the same gunicorn settings, with a platform of its own (the platform only
    posts tokens to the launch URL it was registered with), its nonces kept in the same database as the tool.
    It stays up beside the tool: each launch level alternates between the two in slices (Backend.bench_launches),
    so both are measured under the same conditions of the machine."""

    def __init__(self, args, workdir: str, name: str, db_url: str):
        self.name = name
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
        env.update({"FLOOR_DB": db_url, "SECRET_KEY": secrets.token_hex(32), "PYTHONUNBUFFERED": "1"})
        self.server = Gunicorn("bench.lti_floor_app:app", env, workdir, f"ltifloor-{name}", args.workers,
                               args.threads)
        self.platform = Platform(self.server.url, workdir)
        try:
            env.update({"FLOOR_ISSUER": self.platform.issuer, "FLOOR_CLIENT_ID": self.platform.client_id,
                        "FLOOR_JWKS_URL": self.platform.issuer + "/jwks", "FLOOR_AUTH_URL": self.platform.issuer + "/auth"})
            self.server.env.update(env)
            subprocess.run([PYTHON, "-c", "from bench.lti_floor_app import init_db; init_db()"], cwd=str(APP_DIR),
                           env=env, check=True, capture_output=True)
            self.server.start()
            n = max(args.users)
            specs = [spec(f"floor-user-{i:03d}", context_id="bench-launch-course", resource_link_id="rl-course-home",
                          custom={"npq_programme": "NPQSL"}, name=f"Learner{i} Bench{i}") for i in range(n)]
            self.urls = self.platform.login_urls(specs)
            self.sessions = make_clients(args.client, n)
            self.cpu = {"tool": self.server.cpu, "platform": self.platform.cpu, "loadgen": own_cpu}
            want = max(64, 4 * args.workers * args.threads)
            warm = run_level(n, args.warmup, self.sessions, self.urls, self.cpu, min_launches=want,
                             max_seconds=args.warmup_max, fresh_connections=True)
            if warm["launches"] == 0:
                raise RuntimeError(f"LTI floor ({name}): no launch succeeded during warm-up: {warm['error_kinds']}")
        except BaseException:
            self.stop()
            raise
        self.levels: list[dict] = []

    def run_slice(self, users: int, seconds: float) -> dict:
        return run_slice(users, seconds, self.sessions, self.urls, self.cpu)

    def add_level(self, users: int, slices: list[dict]) -> None:
        res = summarize_level(users, slices)
        log(f"LTI floor ({self.name}): {users:>2} users: {res['rate']:.1f}/s, p95 {res['p95']:.1f} ms, "
            f"server CPU {res['cpu_tool']:.2f} ms/launch, errors {res['errors']}")
        self.levels.append(res)

    def stop(self) -> dict:
        self.server.stop()
        self.platform.stop()
        return {"launch": self.levels, "log_issues": scan_log(self.server.log_path)}


def bench_bare(args, workdir: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    server = Gunicorn("bench.bare_app:app", env, workdir, "bare", args.workers, args.threads)
    server.start()
    try:
        n = max(args.users)
        urls = [server.url + "/login"] * n
        sessions = make_clients(args.client, n)
        cpu = {"tool": server.cpu, "loadgen": own_cpu}
        run_level(n, args.warmup / 2, sessions, urls, cpu, min_launches=200, max_seconds=30)
        levels = []
        for users in args.users:
            res = run_level(users, args.bare_duration, sessions, urls, cpu)
            log(f"bare flask: {users:>2} users: {res['rate']:.1f}/s, p95 {res['p95']:.1f} ms, "
                f"server CPU {res['cpu_tool']:.2f} ms/launch, errors {res['errors']}")
            levels.append(res)
        return {"launch": levels}
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------

def machine_info() -> dict:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), "unknown")
    pyver = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                           text=True).stdout.strip()
    gver = subprocess.run([GUNICORN, "--version"], capture_output=True, text=True).stdout.strip() or "?"
    return {"nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count()),
            "mem": f"{mem_kb / 1024 / 1024:.1f} GiB", "cpu": model, "python": pyver, "gunicorn": gver,
            "sqlite": sqlite3.sqlite_version, "kernel": os.uname().release}


def yes(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def targets(be: dict) -> list[tuple[str, str, bool | None]]:
    out = []
    lv = {x["users"]: x for x in be.get("launch", [])}
    l8, l32 = lv.get(8), lv.get(32)
    fl = {x["users"]: x for x in (be.get("lti_floor") or {}).get("launch", [])}
    for users, x in lv.items():
        f = fl.get(users)
        if f:
            ratio = x["cpu_tool"] / f["cpu_tool"]
            out.append((f"tool CPU per complete launch <= {T_CPU_RATIO:g}x the LTI floor's ({users} users)",
                        f"{fmt(x['cpu_tool'], 2)} vs {fmt(f['cpu_tool'], 2)} ms ({ratio:.2f}x)", ratio <= T_CPU_RATIO))
    if l8:
        f8 = fl.get(8)
        if f8:
            out.append((f"launches/s at 8 users >= {T_RATE_RATIO:g}x the LTI floor's",
                        f"{fmt(l8['rate'])}/s vs {fmt(f8['rate'])}/s ({l8['rate'] / f8['rate']:.2f}x)",
                        l8["rate"] >= T_RATE_RATIO * f8["rate"]))
        out.append(("p95 < 100 ms at 8 users", f"{fmt(l8['p95'])} ms", l8["p95"] < T_P95_8_MS))
    if l32 and l8:
        out.append(("32 users: no errors", f"{l32['errors']} errors", l32["errors"] == 0))
        out.append(("32 users: no drop in throughput (>= 95% of 8 users)", f"{fmt(l32['rate'])}/s vs {fmt(l8['rate'])}/s",
                    l32["rate"] >= 0.95 * l8["rate"]))
    fr = (be.get("first_requests") or {}).get("with warm-up")
    if fr:
        ratio = fr["max_first8"] / fr["median_tail"]
        starts = len(fr.get("rounds", [fr]))
        out.append((f"first launches after start-up (slowest of the first 8) <= {T_FIRST_RATIO:g}x the median of the "
                    f"91st-100th" + (f" (the middle of {starts} starts)" if starts > 1 else ""),
                    f"{fmt(fr['max_first8'] * 1000)} vs {fmt(fr['median_tail'] * 1000)} ms ({ratio:.1f}x)",
                    ratio <= T_FIRST_RATIO))
    g = be.get("grades")
    if g:
        label = (f"{g['n']:,} grades delivered in < 15 s" if g["n"] == 1000 else
                 f"{g['n']:,} grades (quick run; target is 1,000 in < 15 s, i.e. >= 66.7/s)") + \
            f" ({_workers_label(g)})"
        ok = (g["seconds"] < T_GRADES_S if g["n"] == 1000 else g["rate"] >= 1000 / T_GRADES_S) and g["finished"]
        out.append((label, f"{fmt(g['seconds'])} s ({fmt(g['rate'])}/s)", ok))
        out.append(("each score arrived exactly once", f"{g['unique']} unique, {g['duplicates']} duplicated, "
                    f"{g['missing']} missing", g["exactly_once"]))
    q = be.get("queue")
    if q:
        ratio = q[5000]["median"] / q[50]["median"]
        out.append(("queue page: 5,000 participants within 2x of 50", f"{fmt(q[5000]['median'])} vs {fmt(q[50]['median'])} ms "
                    f"({ratio:.2f}x)", ratio <= T_QUEUE_RATIO))
    p = be.get("page")
    if p:
        out.append(("activity page < 100 KB gzip incl. CSS + scripts", f"{p['gzip'] / 1024:.1f} KB", p["gzip"] < T_PAGE_GZIP))
    return out


def cross_targets(report: dict) -> list[tuple[str, str, bool | None]]:
    """PostgreSQL against SQLite, level by level."""
    by = {be["backend"]: {x["users"]: x for x in be.get("launch", [])} for be in report["backends"]}
    out = []
    for users, pg in sorted(by.get("postgres", {}).items()):
        lite = by.get("sqlite", {}).get(users)
        if lite:
            ratio = pg["cpu_tool"] / lite["cpu_tool"]
            out.append((f"tool CPU per launch, PostgreSQL <= {T_PG_RATIO:g}x SQLite ({users} users)",
                        f"{fmt(pg['cpu_tool'], 2)} vs {fmt(lite['cpu_tool'], 2)} ms ({ratio:.2f}x)", ratio <= T_PG_RATIO))
    return out


def _launch_rows(L, who: str, dbn: str, levels: list) -> None:
    for x in levels:
        plat = "–" if "cpu_platform" not in x else fmt(x["cpu_platform"], 2)
        L.append(f"| {who} | {dbn} | {x['users']} | {x['launches']:,} | {fmt(x['rate'])} | {fmt(x['p50'])} | "
                 f"{fmt(x['p95'])} | {fmt(x['p99'])} | {x['errors']} | **{fmt(x['cpu_tool'], 2)}** | {plat} | "
                 f"{fmt(x['cpu_loadgen'], 2)} | {fmt(x.get('other_load', float('nan')), 2)} |")


LAUNCH_HEADER = ("| server | DB | users | launches | launches/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/launch "
                 "| platform CPU ms | loadgen CPU ms | other load (cores) |\n"
                 "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
GRADES_HEADER = ("| DB | grades | workers | seconds | grades/s | delivered | failed | arrived | duplicated | missing | "
                 "score POSTs | token requests | worker CPU ms/grade |\n|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")


def _workers_label(g: dict) -> str:
    if g.get("mode") == "cli":
        return f"{g['procs']} x `flask grades work` (4 threads each)"
    return f"{g['procs']} proc x {g['threads']} thr (bench loop)"


GRADE_KEYS = ("grades", "grades_cli1", "grades_threads", "grades_single")


def _grade_row(dbn: str, g: dict) -> str:
    return (f"| {dbn} | {g['n']:,} | {_workers_label(g)} | {fmt(g['seconds'])} | {fmt(g['rate'])} | "
            f"{g['delivered']:,} | {g['failed']} | {g['arrived']:,} | {g['duplicates']} | {g['missing']} | "
            f"{g['score_posts']:,} | {g['token_requests']} | {fmt(g['worker_cpu_ms'])} |")


def _profile_lines(L, title: str, p: dict, raw_name: str) -> None:
    L.append(f"### {title} ({p['samples']:,} samples; collapsed stacks in `bench/{raw_name}`)\n")
    L.append("Inclusive share of GIL-holding samples, the tool's own functions:\n")
    for k, v in p["inclusive_app"]:
        L.append(f"- {100 * v / p['samples']:.1f}% `{k}`")
    L.append("\nInclusive share, selected library functions:\n")
    for k, v in p["inclusive_lib"]:
        L.append(f"- {100 * v / p['samples']:.1f}% `{k}`")
    L.append("\nSelf time (leaf functions):\n")
    for k, v in p["self"][:10]:
        L.append(f"- {100 * v / p['samples']:.1f}% `{k}`")
    L.append("")


def render(report: dict) -> str:
    m, a = report["machine"], report["args"]
    L = []
    L.append("# Benchmark results\n")
    L.append(f"Generated by `bench/run.py` on {report['date']} (UTC). {'Quick smoke run.' if a['quick'] else 'Full run.'} "
             "Written by the script; the figures are those of the run named below.\n")
    L.append("## Machine and set-up\n")
    L.append(f"- `nproc`: {m['nproc']}; memory {m['mem']}; CPU: {m['cpu']}; kernel {m['kernel']}")
    L.append(f"- Python {m['python']}; {m['gunicorn']}; SQLite {m['sqlite']}"
             + (f"; {report['postgres']}" if report.get("postgres") else ""))
    L.append(f"- Command: `{report['command']}` (from {ROOT}); the run took {report['elapsed'] / 60:.1f} min")
    L.append(f"- Application measured: source fingerprint {report['source']} (sha256 over lti_tool/, templates/, "
             f"config/, migrations/, wsgi.py, gunicorn.conf.py at the start of the run; the code was being edited by "
             f"others while the bench was written)")
    L.append(f"- Tool server: `gunicorn -c gunicorn.conf.py --bind 127.0.0.1:PORT wsgi:app`, NPQ_CONFIG=test, a fresh "
             f"database migrated with `flask --app wsgi db upgrade`, WEB_CONCURRENCY={a['workers']}, "
             f"GUNICORN_THREADS={a['threads']} (gthread: what gunicorn.conf.py gives on 2 cores; 16 requests in "
             f"flight), access log on (to a file). The bare Flask floor (bench/bare_app.py) runs under the same command "
             f"and settings.")
    client = ("http.client keep-alive connections and a cookie jar per virtual user (bench.run.LeanClient)"
              if a["client"] == "lean" else "one requests.Session per virtual user")
    L.append(f"- Load generator: {max(a['users'])} threads in one process, {client}, closed loop (each user "
             f"launches again as soon as its launch is done); {a['duration']:.0f} s per level after a warm-up at "
             f"{max(a['users'])} users on new connections for every launch (keep-alive connections stick to the worker "
             f"that accepted them) until every worker has served each page (cold start is reported separately). Bare app: {a['bare_duration']:.0f} s per level.")
    L.append("- Platform: tests.platform_server.PlatformServer in a process of its own (bench/platform_proc.py), "
             "registered in the tool's database as tests/conftest.py's register() does. Everything runs on "
             "127.0.0.1, and tool, platform, load generator and delivery workers all share the same "
             f"{m['nproc']} cores.")
    L.append("- *other load* = CPU the rest of the machine used during the level (all-core busy time from /proc/stat "
             "minus the tool, platform and load generator), in cores: other sessions' test runs share this machine, "
             "and a level with other load above ~0.3 has slower latencies and rates than an idle machine would give. "
             "CPU-per-launch figures are per process and are not affected.")
    loads = [x["loadavg"] for be in report["backends"] for x in be.get("launch", []) + (be.get("lti_floor") or {}).get(
        "launch", []) if "loadavg" in x]
    if loads:
        L.append(f"- 1-minute load average (`uptime`): {report.get('load_start', float('nan')):.2f} when the run "
                 f"started; {min(loads):.2f}-{max(loads):.2f} at the ends of the launch levels; "
                 f"{report.get('load_end', float('nan')):.2f} at the end (2 cores: above ~2 the machine is shared "
                 "with other work).")
    L.append("- LTI floor (bench/lti_floor_app.py), per database, under the same gunicorn command and settings, "
             "with a platform process of its own: a state cookie, PyJWT RS256 verification of the id_token "
             "(aud, iss, exp, iat, sub, nonce required) against the platform's key fetched once per process, the "
             "nonce kept once (INSERT into a table keyed by it, in the same kind of database as the tool: a SQLite "
             "file or the same PostgreSQL server), a signed session cookie, 303, a small page that reads it. It "
             "leaves out what the tool does on top: registrations and deployments, course, person, enrolment and "
             "session rows, roles, CSRF, the rendered programme page.")
    L.append("- The launch levels are interleaved: the LTI floor and the tool of every database are all up, and "
             f"each level runs {report['args']['slices']} slices of each server in turns (SQLite floor, SQLite "
             "tool, PostgreSQL floor, PostgreSQL tool, then the reverse order, ...), summed per server: a change "
             "in the machine's speed during the run (other sessions' work on it) falls on every server alike, so "
             "the ratios (tool / floor, PostgreSQL / SQLite) compare like with like.")
    for n in report.get("notes_setup", []):
        L.append(f"- {n}")
    L.append("")

    bare = report.get("bare")
    L.append("## Complete launches\n")
    L.append("A complete launch = GET tool `/lti/login` (302) → GET platform `/auth` (200, signed id_token in an "
             "auto-post form) → POST tool `/lti/launch` (303, straight to the page the launch opens) → GET "
             "`/s/<sid>/programme` (200): 3 tool requests and 1 platform request, a fresh OIDC state and nonce each "
             "time. Each virtual user is a learner of one course launching its course-home link "
             "(custom `npq_programme=NPQSL`). Bare floor: GET `/login` (302) → GET `/auth` (200) → POST `/launch` "
             "(303) → GET `/page` (200), all 4 on the bare app; the LTI floor: the same 3 + 1 requests as the tool. CPU columns are milliseconds of CPU per complete "
             "launch: *server* = gunicorn master + workers (/proc utime+stime), *platform* = the platform process, "
             "*loadgen* = the load generator.\n")
    L.append(LAUNCH_HEADER)
    if bare:
        _launch_rows(L, "bare Flask", "–", bare["launch"])
    for be in report["backends"]:
        if be.get("lti_floor"):
            _launch_rows(L, "LTI floor", be["backend"], be["lti_floor"]["launch"])
        _launch_rows(L, "tool", be["backend"], be.get("launch", []))
    L.append("")
    for be in report["backends"]:
        if not be.get("launch"):
            continue
        w = be.get("warmup")
        if w:
            L.append(f"- {be['backend']}, cold start (the warm-up, {w['users']} users): {w['launches']} launches in "
                     f"{fmt(w['seconds'])} s, server CPU {fmt(w['cpu_tool'])} ms/launch, p95 {fmt(w['p95'])} ms, "
                     f"{w['errors']} errors{(' ' + str(w['error_kinds'])) if w['errors'] else ''}, platform JWKS "
                     f"fetches {w['jwks_fetches']}.")
        L.append(f"- {be['backend']}: platform JWKS fetches during the measured levels: **{be['jwks_fetches']}** "
                 f"({be['jwks_total']} since the platform started).")
        steps = "; ".join(f"{x['users']} users: login {fmt(x['p50_login'])}, platform auth {fmt(x['p50_auth'])}, "
                          f"launch {fmt(x['p50_launch'])}, first page {fmt(x['p50_page'])}"
                          for x in be["launch"])
        L.append(f"- {be['backend']}: p50 per step, ms: {steps}.")
        for x in be["launch"]:
            if x["errors"]:
                L.append(f"- {be['backend']}, {x['users']} users, errors: {x['error_kinds']}")
        if be.get("log_issues"):
            L.append(f"- {be['backend']}: tool log: {be['log_issues']}")
    L.append("")

    firsts = [(be["backend"], be["first_requests"]) for be in report["backends"] if be.get("first_requests")]
    if firsts:
        L.append("### The first launch after start-up\n")
        L.append("The tool restarted (the platform's keys already in the database, as after a deploy; gunicorn "
                 "answers its `/healthz` probe before the first launch), then one user launching 100 times in a "
                 "row on new connections each time, so the first launches meet each worker's first requests. "
                 "*Without warm-up* = `GUNICORN_PRELOAD=0 NPQ_WARM_UP=0` (how the tool started before); *with* = "
                 "gunicorn.conf.py's default (`preload_app`, lti_tool/warmup.py in the master, then each worker's "
                 "own warm-up), three starts, sorted by their ratio: the target takes the middle one.\n")
        L.append("| DB | start-up | gunicorn up (s) | first launch ms (login / launch / page) | slowest of first 8 ms "
                 "| median of launches 91-100 ms | first / median |")
        L.append("|---|---|--:|--:|--:|--:|--:|")
        for dbn, fr in firsts:
            for label, x in [(f"{lab} ({k + 1} of {len(y['rounds'])})" if len(y.get("rounds", [])) > 1 else lab, r)
                             for lab, y in fr.items() for k, r in enumerate(y.get("rounds", [y]))]:
                f = x["first"]
                L.append(f"| {dbn} | {label} | {fmt(x['start_s'])} | {fmt(f['total'] * 1000)} ({fmt(f['login'] * 1000)} / "
                         f"{fmt(f['launch'] * 1000)} / {fmt(f['page'] * 1000)}) | {fmt(x['max_first8'] * 1000)} | "
                         f"{fmt(x['median_tail'] * 1000)} | {x['first']['total'] / x['median_tail']:.1f}x |")
        L.append("")
    for be in report["backends"]:
        st = be.get("statements")
        if st:
            kinds = sorted({k for v in st.values() for k in v})
            L.append(f"Statements the tool sent to {be['backend']} per request (its server's log with "
                     "`log_statement = all`, one user, 20 launches; each one a round trip):\n")
            L.append("| request | " + " | ".join(kinds) + " | total |")
            L.append("|---|" + "--:|" * (len(kinds) + 1))
            for step, v in st.items():
                L.append(f"| {step} | " + " | ".join(fmt(v.get(k, 0)) for k in kinds) + f" | **{fmt(sum(v.values()))}** |")
            L.append(f"| **complete launch** | " + " | ".join(fmt(sum(v.get(k, 0) for v in st.values())) for k in kinds)
                     + f" | **{fmt(sum(sum(v.values()) for v in st.values()))}** |")
            L.append("")
    L.append("## Grade delivery\n")
    L.append("Released marks put straight into `grade_outbox` through the models (one line item, one learner each, "
             "the AGS score body a release writes); the platform's score endpoint sleeps 100 ms per call. "
             "`flask grades work` rows: that many processes of the tool's own worker command, with its defaults "
             "(4 delivery threads, each leasing 10 rows a pass; 2 s idle poll), started first and left to go idle; "
             "the marks are then inserted in one "
             "commit and the time runs from that commit to the last row delivered. *bench loop* rows: "
             "bench/grade_worker.py processes whose threads each loop over `lti_tool.grades.delivery.deliver_due()`, "
             "timed from their start signal, each leasing deliver_due()'s default of 20 rows a pass. Exactly-once is "
             "checked on what the platform recorded (every learner's score once, none twice). Worker CPU is "
             "utime+stime of the worker processes during the delivery.\n")
    L.append(GRADES_HEADER)
    for be in report["backends"]:
        for key in GRADE_KEYS:
            if be.get(key):
                L.append(_grade_row(be["backend"], be[key]))
    L.append("")
    for be in report["backends"]:
        for g in [be.get(k) for k in GRADE_KEYS]:
            if g and g.get("workers_died"):
                L.append(f"- {be['backend']}, {_workers_label(g)}: **{g['workers_died']} worker process(es) died** "
                         f"during the run.")
            if g and g.get("worker_error_count"):
                L.append(f"- {be['backend']}, {_workers_label(g)}, {g['n']:,} grades: **{g['worker_error_count']} "
                         f"exception(s) escaped "
                         f"deliver_due()** in the workers: {g['worker_errors']}. The rows that call had leased stayed "
                         f"leased (LEASE = 120 s) before another worker could take them.")
            if g and not g["finished"]:
                L.append(f"- {be['backend']}, {_workers_label(g)}, {g['n']:,} grades: not finished within the "
                         f"{a['grade_timeout']:.0f} s "
                         f"limit: {g['pending']} still pending.")
    L.append("")

    L.append("## Marking queue, autosave, page weight\n")
    L.append("| DB | queue 50: median ms (min / p95) | queue 5,000: median ms (min / p95) | ratio of medians | tool CPU ms/req (50 / 5,000) | "
             "autosave req/s | autosave p50 / p95 ms | autosave errors | autosave tool CPU ms/req |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for be in report["backends"]:
        q, s = be.get("queue"), be.get("autosave")
        if q and s:
            L.append(f"| {be['backend']} | {fmt(q[50]['median'])} ({fmt(q[50]['min'])} / {fmt(q[50]['p95'])}) | "
                     f"{fmt(q[5000]['median'])} ({fmt(q[5000]['min'])} / {fmt(q[5000]['p95'])}) | "
                     f"{q[5000]['median'] / q[50]['median']:.2f}x | {fmt(q[50]['cpu'])} / "
                     f"{fmt(q[5000]['cpu'])} | {fmt(s['rate'])} | {fmt(s['p50'])} / {fmt(s['p95'])} | {s['errors']} | "
                     f"{fmt(s['cpu'])} |")
    L.append("")
    L.append(f"Queue: a tutor launched into a write-up link (custom `npq_item={WRITEUP_REF}`) of a course whose "
             f"participants were seeded as Person + Enrolment rows (three in five with a write-up in some status); "
             f"GET of the queue's first page (50 rows, sorted by name), {a['queue_gets']} times each after 3 warm-ups, "
             f"the two courses alternately, one client, each page checked to show `All (N)`. Autosave: one participant's risk assessment, POST `.../draft` "
             f"with the editor's JSON pairs (as autosave.js sends them) and the current version, one client, back to "
             f"back, {a['autosave_seconds']:.0f} s, each answer checked to be version + 1.\n")
    page = next((be["page"] for be in report["backends"] if be.get("page")), None)
    if page:
        L.append(f"Participant activity page (`{ACTIVITY_REF}`, launched as a learner), every linked stylesheet and "
                 f"script fetched (server compresses: {'yes' if page['server_compresses'] else 'no'}; gzip = Python "
                 f"gzip level 6 per file):\n")
        L.append("| file | bytes | on the wire | gzip |")
        L.append("|---|--:|--:|--:|")
        for r in page["rows"]:
            L.append(f"| {r['kind']}: {r['what']} | {r['bytes']:,} | {r['wire']:,} | {r['gzip']:,} |")
        L.append(f"| **total** | **{page['bytes']:,}** | **{page['wire']:,}** | **{page['gzip']:,}** |")
        L.append("")
        for key, what in (("programme_html", "The programme page (the course home a launch opens)"),
                          ("framework_html", "The framework page it links to (the framework's full text)")):
            if page.get(key):
                L.append(f"- {what}: HTML {page[key]['bytes']:,} bytes, gzip {page[key]['gzip']:,}; the same "
                         "stylesheet and scripts.")
        L.append("")

    L.append("## Targets\n")
    L.append("| DB | target | measured | |")
    L.append("|---|---|---|---|")
    for be in report["backends"]:
        for name, value, ok in targets(be):
            L.append(f"| {be['backend']} | {name} | {value} | {yes(ok)} |")
    for name, value, ok in cross_targets(report):
        L.append(f"| both | {name} | {value} | {yes(ok)} |")
    if bare:
        b8 = next((x for x in bare["launch"] if x["users"] == 8), None)
        if b8:
            L.append(f"| – | (reference) bare Flask server CPU per complete launch (4 requests), 8 users | "
                     f"{fmt(b8['cpu_tool'], 2)} ms | – |")
    L.append("")

    wi = report.get("whatif")
    if wi and (wi.get("launch") or wi.get("grades")):
        L.append("## What-if: the recommended key fix (not the tool as shipped)\n")
        L.append("The same launches and grade delivery on SQLite, with one change made in memory in the tool's own "
                 "processes (bench/whatif_wsgi.py for gunicorn, BENCH_KEYCACHE=1 for the delivery workers): parsed RSA "
                 "private keys are cached per process, which is what caching `ToolKey` objects in `KeyStore` would "
                 "do. It shows what is left once that fix is in.\n")
        if wi.get("launch"):
            L.append(LAUNCH_HEADER)
            _launch_rows(L, "tool + key cache", "sqlite", wi["launch"])
            L.append("")
            w = wi.get("warmup")
            if w:
                L.append(f"- cold start: {w['launches']} launches in {fmt(w['seconds'])} s, server CPU "
                         f"{fmt(w['cpu_tool'])} ms/launch, JWKS fetches {w['jwks_fetches']}; JWKS fetches during "
                         f"the levels: {wi.get('jwks_fetches')}.")
                L.append("")
        if wi.get("grades"):
            L.append(GRADES_HEADER)
            L.append(_grade_row("sqlite + key cache", wi["grades"]))
            L.append("")
        for name, value, ok in targets(wi):
            L.append(f"- what-if, {name}: {value} — {'would be met' if ok else 'still missed'}")
        L.append("")

    profiles = [(be["backend"], k, be[k]) for be in report["backends"] + ([wi] if wi else [])
                for k in ("profile_launch", "profile_grades") if be.get(k)]
    if profiles:
        L.append("## Profiles\n")
        L.append("py-spy 0.4, 250 Hz, `--gil` (only samples of threads holding the GIL, i.e. Python CPU work; "
                 "waits on locks, sockets and the database are left out), idle threads excluded.\n")
        for backend, kind, p in profiles:
            if kind == "profile_launch":
                _profile_lines(L, f"{backend}: gunicorn workers during 10 s of 8-user launches "
                                  f"({p.get('launches', '?')} launches)", p, f"profile-launch-{backend}.txt")
                before = BENCH / f"profile-launch-{backend}-before.txt"
                if before.exists():  # an earlier run's profile, kept by hand as the baseline to compare with
                    _profile_lines(L, f"{backend}, before: the baseline profile kept in `bench/{before.name}`",
                                   summarize_pyspy(str(before)), before.name)
            else:
                _profile_lines(L, f"{backend}: one delivery worker process (4 threads) delivering 200 grades", p,
                               f"profile-grades-{backend}.txt")
    if report.get("notes"):
        L.append("## Notes\n")
        for n in report["notes"]:
            L.append(f"- {n}")
        L.append("")
    return "\n".join(L)


def print_table(report: dict) -> None:
    print()
    print(f"{'server':<10} {'DB':<10} {'users':>5} {'launches':>8} {'/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
          f"{'err':>4} {'CPU ms':>7}   (CPU ms = server CPU per complete launch)")
    rows = []
    if report.get("bare"):
        rows += [("bare", "-", x) for x in report["bare"]["launch"]]
    for be in report["backends"]:
        rows += [("LTI floor", be["backend"], x) for x in (be.get("lti_floor") or {}).get("launch", [])]
        rows += [("tool", be["backend"], x) for x in be.get("launch", [])]
    if report.get("whatif"):
        rows += [("what-if", "keycache", x) for x in report["whatif"].get("launch", [])]
    for who, dbn, x in rows:
        print(f"{who:<10} {dbn:<10} {x['users']:>5} {x['launches']:>8} {x['rate']:>7.1f} {x['p50']:>7.1f} "
              f"{x['p95']:>7.1f} {x['p99']:>7.1f} {x['errors']:>4} {x['cpu_tool']:>7.2f}   other load "
              f"{x.get('other_load', 0):.2f} cores")
    print()
    for be in report["backends"] + ([report["whatif"]] if report.get("whatif") else []):
        print(f"[{be['backend']}] JWKS fetches during launches: {be.get('jwks_fetches')}")
        for key in GRADE_KEYS:
            g = be.get(key)
            if g:
                print(f"[{be['backend']}] grades: {g['delivered']}/{g['n']} in {g['seconds']:.1f}s with "
                      f"{_workers_label(g).replace('`', '')}, exactly once: {g['exactly_once']}, worker errors "
                      f"{g['worker_error_count']}")
        q = be.get("queue")
        if q:
            print(f"[{be['backend']}] queue median: 50 -> {q[50]['median']:.1f} ms, 5000 -> {q[5000]['median']:.1f} ms")
        s = be.get("autosave")
        if s:
            print(f"[{be['backend']}] autosave: {s['rate']:.1f} req/s, p50 {s['p50']:.1f} ms, errors {s['errors']}")
        p = be.get("page")
        if p:
            print(f"[{be['backend']}] activity page: {p['bytes']:,} B, gzip {p['gzip']:,} B")
    print()
    for be in report["backends"]:
        for name, value, ok in targets(be):
            print(f"[{be['backend']}] {'MET   ' if ok else 'MISSED'} {name}: {value}")
    for name, value, ok in cross_targets(report):
        print(f"[both] {'MET   ' if ok else 'MISSED'} {name}: {value}")
    print()


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="~2 minute smoke run (short levels, 200 grades, no profiles)")
    p.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres (default both)")
    p.add_argument("--users", default="1,8,32", help="concurrency levels (default 1,8,32)")
    p.add_argument("--duration", type=float, help="seconds per launch level (default 15, quick 4)")
    p.add_argument("--slices", type=int, default=3,
                   help="each launch level alternates between the LTI floor and the tool in this many slices "
                        "of each (default 3)")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (WEB_CONCURRENCY), default 4")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (GUNICORN_THREADS), default 4")
    p.add_argument("--grades", type=int, help="grades to deliver (default 1000, quick 200)")
    p.add_argument("--grade-procs", type=int, default=4, help="delivery worker processes (default 4)")
    p.add_argument("--grade-threads", type=int, default=5,
                   help="threads per delivery worker (default 5: 4 x 5 = 20 deliverers, one per 50-row lease of 1,000)")
    p.add_argument("--cli-procs", type=int,
                   help="`flask grades work` processes for the main grade run (default 4, each with the "
                        "command's default 4 delivery threads)")
    p.add_argument("--no-cli-grades", action="store_true",
                   help="use only bench/grade_worker.py threads, even if `flask grades work` exists")
    p.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles of missed targets")
    p.add_argument("--profile", action="store_true", help="profile missed targets even in a quick run")
    p.add_argument("--client", choices=("lean", "requests"), default="lean",
                   help="load generator HTTP client: lean (http.client keep-alive + cookie jar, default) or requests")
    p.add_argument("--no-bare", action="store_true", help="skip the bare Flask floor")
    p.add_argument("--no-lti-floor", action="store_true", help="skip the LTI floor (bench/lti_floor_app.py)")
    p.add_argument("--launches-only", action="store_true",
                   help="launches only: no queue, autosave, page weight or grade delivery (for iterating)")
    p.add_argument("--install-missing", action="store_true", help="apt-get install postgresql if it is missing")
    p.add_argument("--what-if", dest="what_if", action="store_true", default=None,
                   help="also run the tool with parsed RSA private keys cached in memory (bench/whatif_wsgi.py), "
                        "SQLite: what caching the keys is worth, for versions that re-parse them")
    p.add_argument("--no-what-if", dest="what_if", action="store_false")
    p.add_argument("--no-snapshot", dest="snapshot", action="store_false",
                   help="run the tool from the working tree instead of a copy made at the start")
    p.add_argument("--keep", action="store_true", help="keep the temp work dir (logs, databases) for inspection")
    p.add_argument("--results", help="where to write the markdown (default bench/RESULTS.md; quick: RESULTS-quick.md)")
    a = p.parse_args()
    a.users = [int(x) for x in a.users.split(",") if x.strip()]
    a.dbs = [x.strip() for x in a.db.split(",") if x.strip()]
    q = a.quick
    a.duration = a.duration or (4.0 if q else 15.0)
    a.warmup = 2.0 if q else 4.0
    a.warmup_max = 45.0 if q else 90.0
    a.bare_duration = min(a.duration, 3.0 if q else 10.0)
    a.grades = a.grades or (200 if q else 1000)
    a.cli_procs = a.cli_procs or 4
    a.queue_gets = 7 if q else 21
    a.autosave_seconds = 3.0 if q else 10.0
    a.grade_timeout = 90.0 if q else 240.0
    a.profile = a.profile or not (q or a.no_profile)
    if a.what_if is None:
        a.what_if = False
    a.results = a.results or str(BENCH / ("RESULTS-quick.md" if q else "RESULTS.md"))
    a.watchdog = 480 if q else 1800
    return a


def main() -> int:
    args = parse_args()
    t_start = time.time()
    command = ".venv/bin/python -m bench.run" + ("" if len(sys.argv) == 1 else " " + " ".join(sys.argv[1:]))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    watchdog = threading.Timer(args.watchdog, lambda: os.kill(os.getpid(), signal.SIGTERM))
    watchdog.daemon = True
    watchdog.start()

    report = {"machine": machine_info(), "args": {k: v for k, v in vars(args).items()},
              "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"), "command": command,
              "backends": [], "notes": [], "notes_setup": [], "source": "", "load_start": os.getloadavg()[0]}
    workroot = tempfile.mkdtemp(prefix="npq-bench-")
    if not args.keep:
        PROCS.cleanups.insert(0, lambda: shutil.rmtree(workroot, ignore_errors=True))
    global APP_DIR
    report["source"] = source_fingerprint()
    if args.snapshot:
        APP_DIR = Path(workroot) / "app"
        snapshot_app(str(APP_DIR))
        report["source"] = source_fingerprint()
        sys.path.insert(0, str(APP_DIR))  # the seeding code in this process imports the same models
        report["notes_setup"].append(f"The tool, the platform and the delivery workers ran from a copy of the "
                                     f"application made at the start of the run (source fingerprint {report['source']}).")
    log(f"work dir {workroot}; gunicorn {args.workers}x{args.threads}; levels {args.users}; "
        f"{args.duration:.0f}s per level; backends {args.dbs}")
    pg: Postgres | None = None
    try:
        cli = subprocess.run([FLASK, "--app", "wsgi", "grades", "--help"], cwd=str(APP_DIR), capture_output=True, text=True,
                             env={**os.environ, "NPQ_CONFIG": "test", "DATABASE_URL": f"sqlite:///{workroot}/probe.sqlite3",
                                  "KEYS_DIR": f"{workroot}/probe-keys", "SECRET_KEY": "probe"})
        cli_grades = cli.returncode == 0 and " work " in cli.stdout and not args.no_cli_grades
        if not args.no_bare:
            d = os.path.join(workroot, "bare")
            os.makedirs(d)
            report["bare"] = bench_bare(args, d)

        # Every database's tool and LTI floor are started and warmed first, then all the launch levels run
        # interleaved (interleaved_levels), then each database's other measurements, one after the other.
        started: list[tuple[str, Backend, LtiFloor | None]] = []
        try:
            for name in args.dbs:
                d = os.path.join(workroot, name)
                os.makedirs(d)
                if name == "sqlite":
                    url = f"sqlite:///{d}/tool.sqlite3"
                elif name == "postgres":
                    pg = Postgres()
                    if pg.bindir is None and args.install_missing and os.geteuid() == 0:
                        log("installing postgresql (apt-get)")
                        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], capture_output=True)
                        pg = Postgres()
                    if pg.bindir is None:
                        report["notes"].append("PostgreSQL server binaries not found (initdb/pg_ctl): SQLite only. "
                                               "Run with --install-missing (as root) to apt-get install postgresql.")
                        log("PostgreSQL not available: skipped")
                        pg = None
                        continue
                    if not ensure_psycopg():
                        report["notes"].append("psycopg could not be installed into the venv: SQLite only.")
                        pg = None
                        continue
                    pg.start()
                    report["postgres"] = pg.version
                    url = pg.create_db("npq_bench")
                else:
                    raise SystemExit(f"unknown database {name!r}")
                be = Backend(name, url, args, d)
                report["backends"].append(be.results)
                floor = None
                if not args.no_lti_floor:
                    fd = os.path.join(d, "ltifloor")
                    os.makedirs(fd)
                    floor_url = f"sqlite:///{fd}/floor.sqlite3" if name == "sqlite" else pg.create_db("npq_floor")
                    try:
                        floor = LtiFloor(args, fd, name, floor_url)
                    except Exception as exc:
                        import traceback

                        traceback.print_exc()
                        report["notes"].append(f"{name}: the LTI floor failed: {type(exc).__name__}: {exc}")
                started.append((name, be, floor))
                be.setup()
                be.bench_first_requests()
                be.launch_warmup()
            interleaved_levels(args, [x for _, be, floor in started for x in (floor, be) if x is not None])
            for _, be, _ in started:
                be.finish_launches()
        except Exception as exc:
            import traceback

            traceback.print_exc()
            report["notes"].append(f"the launch levels stopped early: {type(exc).__name__}: {exc}")
            for _, be, _ in started:
                be.results.setdefault("error", f"{type(exc).__name__}: {exc}")
        finally:
            for name, be, floor in started:
                if floor is not None:
                    be.results["lti_floor"] = floor.stop()

        for name, be, _ in started:
            try:
                if "error" in be.results:
                    continue
                if name == "postgres":
                    be.count_statements(pg)
                if args.launches_only:
                    if args.profile:
                        be.profile_launches(10)
                    continue
                be.bench_page_weight()
                be.bench_queue()
                be.bench_autosave()
                if cli_grades:
                    be.results["grades"] = be.bench_grades(args.grades, args.cli_procs, 1, "cli", mode="cli")
                    be.results["grades_threads"] = be.bench_grades(args.grades, args.grade_procs,
                                                                   args.grade_threads, "threads")
                    if not args.quick:
                        be.results["grades_cli1"] = be.bench_grades(args.grades, 1, 1, "cli1", mode="cli")
                else:
                    be.results["grades"] = be.bench_grades(args.grades, args.grade_procs, args.grade_threads, "main")
                if not args.quick:
                    be.results["grades_single"] = be.bench_grades(50, 1, 1, "single")
                if args.profile:
                    log(f"{name}: profiling launches with py-spy")
                    be.profile_launches(10)
                if args.profile and name == args.dbs[0]:
                    g = be.results["grades"]
                    if g["seconds"] >= T_GRADES_S or not g["finished"]:
                        log(f"{name}: profiling grade delivery with py-spy")
                        be.bench_grades(200, 1, 4, "profile", profile=True)
            except Exception as exc:
                import traceback

                traceback.print_exc()
                be.results["error"] = f"{type(exc).__name__}: {exc}"
                report["notes"].append(f"{name}: the run stopped early: {type(exc).__name__}: {exc}")
            finally:
                be.teardown()
        if pg is not None:
            pg.stop()
        if args.what_if and "sqlite" in args.dbs:
            d = os.path.join(workroot, "whatif")
            os.makedirs(d)
            be = Backend("sqlite+keycache", f"sqlite:///{d}/tool.sqlite3", args, d, keycache=True)
            report["whatif"] = be.results
            log("what-if: the tool with parsed RSA keys cached per process (bench/whatif_wsgi.py), SQLite")
            try:
                be.setup()
                be.bench_launches()
                be.results["grades"] = be.bench_grades(args.grades, args.grade_procs, args.grade_threads, "main")
                if args.profile:
                    be.profile_launches(10)
            except Exception as exc:
                import traceback

                traceback.print_exc()
                be.results["error"] = f"{type(exc).__name__}: {exc}"
                report["notes"].append(f"what-if: the run stopped early: {type(exc).__name__}: {exc}")
            finally:
                be.teardown()
    except KeyboardInterrupt as exc:
        report["notes"].append(f"Interrupted ({exc}); figures are partial.")
        log(f"interrupted: {exc}")
    finally:
        watchdog.cancel()
        PROCS.stop_all()
    report["elapsed"] = time.time() - t_start
    report["load_end"] = os.getloadavg()[0]
    report["notes"] += [
        "The platform process caches parsed RSA private keys (bench/platform_proc.py): uncached, "
        "lti1p3platform re-parses and re-validates its PEM key several times per id_token and per bearer-token "
        "check (~40-90 ms each on this machine), and the test platform, not the tool, would limit every figure. "
        "The tool's processes run unmodified.",
        "Server CPU is read from /proc/<pid>/stat (utime+stime, plus reaped children) of the gunicorn master and "
        "its workers before and after each level, divided by the launches completed in it; the load generator's "
        "and the platform's CPU are reported beside it and not counted.",
        "All processes (tool, platform, load generator, delivery workers) share the same 2 cores: launches/s is "
        "bounded by the sum of their CPU per launch, not by the tool's alone.",
    ]
    text = render(report)
    # A hand-written analysis below this marker in an earlier RESULTS.md is kept (it says which run it is about).
    marker = "<!-- analysis: kept across runs -->"
    old = Path(args.results).read_text() if Path(args.results).exists() else ""
    if marker in old:
        text = text.rstrip("\n") + "\n\n" + marker + old.split(marker, 1)[1]
    Path(args.results).write_text(text)
    print_table(report)
    log(f"wrote {args.results} ({report['elapsed'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
