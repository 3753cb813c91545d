"""Personal data: the inventory covers the schema, subject access exports everything held about a
person and nothing of anyone else, erasure pseudonymises and keeps cohort figures, all through the
real admin pages, the CLI and a real platform. The tests of this module share one world and run in
order: export, then erasure of the participant, then of their tutor."""
from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import event, func, select, update

from lti_tool.dates import format_datetime
from lti_tool.db import Base, db, engine, utcnow
from lti_tool.models import GradeOutbox, Mark, Person
from lti_tool.privacy.erasure import erase, inventory_pseudonymised_columns_are_links
from lti_tool.privacy.inventory import (BLANK, DELETE, ERASURE_RULES, KEEP, PSEUDONYMISE, RETENTION_CATEGORIES,
                                        TABLES, personal_entries)
from lti_tool.privacy.inventory_doc import DOC_PATH, generated_section, markdown
from lti_tool.privacy.people import about, table_of
from lti_tool.privacy.subject_access import gather
from lti_tool.security_models import AuditEvent

from .browser import csrf_token
from .browser_support import ARTIFACTS
from .conftest import learner, register
from .platform_server import PlatformServer
from .privacy_support import (DFE_ID, P_SECRETS, Q_SECRETS, SECRET_CASE, SECRET_FEEDBACK, SECRET_SUBMITTED,
                              TUTOR_ANSWER, PrivacyWorld, build_privacy_world)
from .test_route_matrix import NAME, SECRET_DRAFT, SECRET_QUESTION, SECRET_RISK


# -- the inventory ----------------------------------------------------------------------------------

def test_inventory_has_an_entry_for_every_column_and_no_stale_entries(app):
    schema = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns}
    listed = {(spec.name, column) for spec in TABLES.values() for column in spec.columns}
    assert not schema - listed, f"columns without an inventory entry: {sorted(schema - listed)}"
    assert not listed - schema, f"inventory entries for columns that do not exist: {sorted(listed - schema)}"


def test_inventory_entries_are_complete_and_consistent(app):
    for e in personal_entries():
        where = f"{e.table}.{e.column}"
        assert e.subjects and e.purpose and e.basis, where
        assert e.retention in RETENTION_CATEGORIES and e.erasure in ERASURE_RULES, where
        assert e.erasure != KEEP or e.keep_reason, f"{where}: kept without a reason"
    for spec in TABLES.values():
        assert all(e.note for e in spec.columns.values() if not e.personal), spec.name
        if spec.deletes_rows:  # a row is deleted or kept whole: no other rule may apply to it
            assert {e.erasure for e in spec.personal()} == {DELETE}, spec.name
        if spec.about and len(spec.about) == 2:
            assert spec.about[1] in TABLES and TABLES[spec.about[1]].about, spec.name
        assert set(spec.by) <= set(spec.columns), spec.name
    assert inventory_pseudonymised_columns_are_links() == []


def test_the_committed_data_protection_document_matches_the_inventory():
    committed = generated_section(DOC_PATH.read_text(encoding="utf-8"))
    assert committed, "docs/data-protection.md lost its generated-inventory markers"
    assert committed == markdown(), "docs/data-protection.md is out of date: run flask data inventory --update-doc"


# -- the world --------------------------------------------------------------------------------------

# The last row id of each table before this module's world is built: the database is shared with
# other test modules, whose own worlds use the same names and markers, so the "no trace left" check
# looks only at rows made from here on.
BASELINE: dict[str, int] = {}


def _numbered(table) -> bool:
    """Rows numbered in order of making (session tables have random string IDs: read whole)."""
    return "id" in table.c and table.c.id.type.python_type is int


@pytest.fixture(scope="module")
def pw(app, tool) -> PrivacyWorld:
    with app.app_context(), engine().connect() as conn:
        BASELINE.update({t.name: conn.execute(select(func.max(t.c.id))).scalar() or 0
                         for t in Base.metadata.sorted_tables if _numbered(t)})
    platform = PlatformServer(tool.url)
    platform.db_id = register(app, platform)
    yield build_privacy_world(app, tool, platform)
    platform.stop()


def _admin_get(pw: PrivacyWorld, path: str):
    return pw.world.browsers["admin"].http.get(pw.world.tool_url + path)


def _audit(app, action: str, person_id: int) -> list[AuditEvent]:
    with app.app_context():
        return list(db().scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                          AuditEvent.target_type == "person",
                                                          AuditEvent.target_id == str(person_id))
                                      .order_by(AuditEvent.id)))  # PostgreSQL keeps no order without one


# -- finding people ---------------------------------------------------------------------------------

def test_people_search_is_case_insensitive_across_name_email_and_vle_user_id(app, pw):
    for query in ("pia owner", "PIA", "oWnEr pIa", pw.p_sub.upper()):
        page = _admin_get(pw, "/admin/people?q=" + query)
        assert page.status_code == 200 and f"/admin/people/{pw.p_id}\"" in page.text, query
    page = _admin_get(pw, "/admin/people?q=" + "no-such-person-%_")
    assert "No one matches" in page.text
    for odd in ("?q=99999999999999999999999&page=-3", "?q=%00%27%22&page=abc", "?q=%C2%B2", "?q=" + "x" * 5000):
        assert _admin_get(pw, "/admin/people" + odd).status_code == 200, odd
    for missing in ("/admin/people/99999999999", "/admin/people/99999999999/erase", "/admin/people/999999"):
        assert _admin_get(pw, missing).status_code in (400, 404), missing  # PostgreSQL: beyond an integer
    runner = app.test_cli_runner()
    found = runner.invoke(args=["data", "find", "PIA OWNER"])
    assert found.exit_code == 0 and f"{pw.p_id}\t{NAME}" in found.output, found.output


def test_person_page_shows_courses_roles_and_what_is_held(pw):
    page = _admin_get(pw, f"/admin/people/{pw.p_id}")
    assert page.status_code == 200 and NAME in page.text and "participant" in page.text
    assert "Download their data" in page.text and "Erase…" in page.text
    assert _admin_get(pw, "/admin/people/999999999").status_code == 404


# -- subject access ---------------------------------------------------------------------------------

def _download(pw: PrivacyWorld) -> tuple[object, zipfile.ZipFile]:
    admin = pw.world.browsers["admin"]
    page = _admin_get(pw, f"/admin/people/{pw.p_id}")
    resp = admin.http.post(f"{pw.world.tool_url}/admin/people/{pw.p_id}/export",
                           data={"csrf_token": csrf_token(page.text)})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip", resp.text[:300]
    return resp, zipfile.ZipFile(io.BytesIO(resp.content))


def test_export_holds_everything_about_the_person_and_nothing_of_anyone_else(app, pw):
    with app.app_context():  # launches write it to the hour: the summary must give the latest launch's time
        db().execute(update(Person).where(Person.id == pw.p_id).values(last_launch_at=utcnow() - timedelta(hours=3)))
        db().commit()
    before = len(_audit(app, "subject_access.export", pw.p_id))
    started = time.monotonic()
    resp, archive = _download(pw)
    assert time.monotonic() - started < 15
    assert resp.headers["Cache-Control"] == "private, no-store" and "attachment" in resp.headers["Content-Disposition"]
    assert len(_audit(app, "subject_access.export", pw.p_id)) == before + 1
    files = {name: archive.read(name) for name in archive.namelist()}
    every = b"".join(files.values()).decode("utf-8", "replace")
    for secret in Q_SECRETS + ("Quinn Second",):
        assert secret not in every, secret
    data = {name[:-5]: json.loads(content) for name, content in files.items() if name.endswith(".json")}
    tables = {area: d.get("tables", {}) for area, d in data.items()}

    identity = tables["identity"]
    assert identity["person"][0]["name"] == NAME and identity["person"][0]["sub"] == pw.p_sub
    assert {e["role"] for e in identity["enrolment"]} == {"participant"}
    writeups = json.dumps(tables["writeups"])
    assert SECRET_RISK in writeups and SECRET_DRAFT in writeups
    assert {d["template_ref"] for d in tables["writeups"]["writeup_doc"]} == {"NPQSL/risk-assessment",
                                                                             "NPQSL/action-plan"}
    assert len(tables["writeups"]["writeup_submission"]) == 1 and len(tables["writeups"]["writeup_version"]) >= 2
    activities = json.dumps(tables["activities"])
    assert P_SECRETS[2] in activities and SECRET_SUBMITTED in activities
    assert len(tables["activities"]["activity_submission"]) == 1
    assert SECRET_CASE in json.dumps(tables["case_study"]["assessment_attempt"])
    marks = tables["marks_and_feedback"]["mark"]
    assert len(marks) == 1 and SECRET_FEEDBACK in marks[0]["overall_comment"]
    assert marks[0]["marker_id_name"] == "Tess Tutor" and marks[0]["status"] == "released"
    assert any(e["action"] == "mark released" for e in tables["marks_and_feedback"]["mark_event"])
    question = tables["questions"]["question"]
    assert [(q["text"], q["answer"]) for q in question] == [(SECRET_QUESTION, TUTOR_ANSWER)]
    assert question[0]["answered_by_name"] == "Tess Tutor"
    assert len(tables["attendance"]["attendance"]) == 1
    assert tables["dfe"]["assessment_participant"][0]["dfe_participant_id"] == DFE_ID
    assert tables["launches"]["launch_session"] and "services" not in tables["launches"]["launch_session"][0]
    assert tables["grades_sent_to_vle"]["grade_outbox"][0]["status"] == "delivered"

    (ARTIFACTS / "privacy").mkdir(exist_ok=True)
    (ARTIFACTS / "privacy" / "summary-full.pdf").write_bytes(files["summary.pdf"])  # to look at
    pdf = PdfReader(io.BytesIO(files["summary.pdf"]))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert NAME in text and "Risk assessment" in text and "Action plan" in text and "Tess Tutor" in text
    assert "Quinn" not in text
    latest = max(datetime.fromisoformat(s["created_at"]) for s in tables["launches"]["launch_session"])
    assert f"Last opened the tool {format_datetime(latest.replace(tzinfo=timezone.utc))}" in " ".join(text.split())


def test_export_reads_a_full_programme_in_a_few_queries(app, pw):
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        event.listen(engine(), "before_cursor_execute", count)
        try:
            data = gather(pw.p_id)
        finally:
            event.remove(engine(), "before_cursor_execute", count)
    assert data is not None and len(statements) < 50, len(statements)


def test_cli_export_writes_the_archive_and_an_audit_entry(app, pw, tmp_path):
    before = len(_audit(app, "subject_access.export", pw.p_id))
    out = tmp_path / "p.zip"
    result = app.test_cli_runner().invoke(args=["data", "export", str(pw.p_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "writeups.json" in zipfile.ZipFile(out).namelist() and (out.stat().st_mode & 0o077) == 0
    entries = _audit(app, "subject_access.export", pw.p_id)
    assert len(entries) == before + 1 and entries[-1].actor == "cli"


# -- erasure ------------------------------------------------------------------------------------------

def _cohort_figures(pw: PrivacyWorld) -> tuple[list, list]:
    """The dashboard CSV and the outcomes CSV, without the columns that name people."""
    tutor, base = pw.world.browsers["T"], pw.session("T")
    names = ("participant", "email", "lti_user_id", "full_name", "lms_user_id")

    def rows(url):
        text = tutor.http.get(url).content.decode("utf-8-sig")
        return sorted(tuple(v for k, v in r.items() if k not in names) for r in csv.DictReader(io.StringIO(text)))
    return rows(base + "dashboard.csv"), rows(base + "assessment/NPQSL/outcomes.csv")


def _personal_values(app, person_id: int) -> dict[tuple[str, str], set]:
    """Every non-empty value of every personal, not-kept column in the rows about the person."""
    out = {}
    with app.app_context(), engine().connect() as conn:
        for spec in TABLES.values():
            if not spec.about:
                continue
            t = table_of(spec)
            rules = {e.column: e.erasure for e in spec.personal()}
            columns = [c for c, rule in rules.items() if rule in (BLANK, DELETE) or
                       (rule == PSEUDONYMISE and spec.name == "person")]
            rows = conn.execute(select(t).where(about(spec, person_id))).mappings().all()
            if spec.kept_rows:
                rows = [r for r in rows if r[spec.kept_rows[0]] != spec.kept_rows[1]]
            for column in columns:
                out[(spec.name, column)] = {json.dumps(r[column], default=str) for r in rows
                                            if r[column] not in (None, "", {}, [])}
    return out


def test_an_erasure_that_fails_part_way_changes_nothing(app, pw):
    """The database refuses the last statement (the person row's): everything before it is undone."""
    before = _personal_values(app, pw.q_id)

    def refuse_person_update(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE PERSON "):
            raise RuntimeError("the database went away")

    with app.app_context():
        event.listen(engine(), "before_cursor_execute", refuse_person_update)
        try:
            with pytest.raises(Exception, match="went away"):
                erase(pw.q_id)
        finally:
            event.remove(engine(), "before_cursor_execute", refuse_person_update)
    assert _personal_values(app, pw.q_id) == before
    assert any(Q_SECRETS[0] in v for v in before[("writeup_doc", "content")])
    assert _audit(app, "person.erase", pw.q_id) == []


def test_erasure_preview_then_confirm_pseudonymises_and_keeps_cohort_figures(app, tool, pw):
    with app.app_context():  # an older score of theirs that was never sent, a newer one having been
        sent = db().scalar(select(GradeOutbox).where(GradeOutbox.person_id == pw.p_id, GradeOutbox.status == "delivered"))
        db().add(GradeOutbox(platform_id=sent.platform_id, course_id=sent.course_id, person_id=pw.p_id,
                             resource_id=sent.resource_id, label=sent.label, score=dict(sent.score), source=sent.source,
                             status="superseded"))
        db().commit()
    figures_before = _cohort_figures(pw)
    values_before = _personal_values(app, pw.p_id)
    assert values_before[("question", "text")] and values_before[("writeup_doc", "content")]
    admin, url = pw.world.browsers["admin"], f"{pw.world.tool_url}/admin/people/{pw.p_id}/erase"
    preview = admin.http.get(url)
    assert preview.status_code == 200 and "Erased participant " in preview.text
    for text in ("Deleted", "Blanked or pseudonymised", "Kept, and why", "Marks already sent to the VLE",
                 "DfE declarations", "Audit entries are append-only", "Type ERASE to confirm"):
        assert text in preview.text, text
    wrong = admin.http.post(url, data={"csrf_token": csrf_token(preview.text), "confirm": "erase"})
    assert wrong.status_code == 400 and "in capital letters" in wrong.text
    empty = admin.http.post(url, data={"csrf_token": csrf_token(preview.text)})
    assert empty.status_code == 400 and "Kept, and why" in empty.text
    assert _personal_values(app, pw.p_id) == values_before  # nothing changed

    done = admin.http.post(url, data={"csrf_token": csrf_token(preview.text), "confirm": "ERASE"})
    assert done.status_code == 200 and "Erased. The person is now" in done.text

    after = _personal_values(app, pw.p_id)
    for key, values in values_before.items():
        assert not (values & after.get(key, set())), f"{key} still holds original values"
    with app.app_context(), engine().connect() as conn:  # no trace of their text or name anywhere
        for t in Base.metadata.sorted_tables:
            if t.name in ("grade_outbox", "audit_event"):
                continue
            query = select(t).where(t.c.id > BASELINE.get(t.name, 0)) if _numbered(t) else select(t)
            dump = repr(conn.execute(query).all())
            for marker in P_SECRETS + (SECRET_FEEDBACK, TUTOR_ANSWER, NAME):
                assert marker not in dump, (t.name, marker)
        person = conn.execute(select(Person.__table__).where(Person.id == pw.p_id)).mappings().one()
        assert person["name"].startswith("Erased participant ") and person["sub"].startswith("erased:")
        assert person["email"] is None and person["given_name"] is None
    assert _cohort_figures(pw) == figures_before
    with app.app_context():  # what was sent is kept (the VLE holds it); what never left the tool is not
        statuses = db().scalars(select(GradeOutbox.status).where(GradeOutbox.person_id == pw.p_id)).all()
        assert statuses and set(statuses) == {"delivered"}

    entries = _audit(app, "person.erase", pw.p_id)
    assert len(entries) == 1 and entries[0].actor.startswith("admin:")
    detail = json.dumps(entries[0].detail)
    assert NAME not in detail and pw.p_sub not in detail and "asha@example.org" not in detail
    # Stable: the same pseudonym the preview promised; a second erasure is refused.
    assert person["name"] in preview.text
    again = admin.http.get(url, allow_redirects=True)
    assert "already been erased" in again.text


def test_a_new_launch_of_an_erased_user_starts_as_a_new_empty_person(app, pw):
    spec = learner(user_id=pw.p_sub, name=NAME, context_id="fresh-" + str(pw.p_id),
                   custom={"npq_programme": "NPQSL"})
    from .browser import Browser

    page = Browser().launch(pw.world.platform, spec)
    assert page.status_code == 200
    with app.app_context():
        fresh = db().scalar(select(Person).where(Person.platform_id == pw.world.platform.db_id,
                                                 Person.sub == pw.p_sub))
        assert fresh is not None and fresh.id != pw.p_id
        data = gather(fresh.id)
    held = {t for tables in data.areas.values() for t, rows in tables.items() if rows}
    assert held == {"person", "enrolment", "launch_session"}, held


def test_erasing_a_tutor_keeps_their_marks_of_others_under_the_pseudonym(app, pw):
    dry = app.test_cli_runner().invoke(args=["data", "erase", str(pw.t_id), "--dry-run"])
    assert dry.exit_code == 0 and "Dry run: nothing changed." in dry.output and "Erased tutor " in dry.output
    result = app.test_cli_runner().invoke(args=["data", "erase", str(pw.t_id), "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        mark = db().scalar(select(Mark).where(Mark.marker_id == pw.t_id))
        assert mark is not None and mark.total is not None
        assert mark.marker.display_name.startswith("Erased tutor ")
        assert _audit(app, "person.erase", pw.t_id)[0].actor == "cli"
