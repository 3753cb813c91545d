"""The audit log end to end: what LTI users and admins do leaves entries with actor and subject;
the admin pages filter them and export them (an audited export); the ORM refuses to change one.
Also the privacy notice in every footer, and the pupil-name warning before a submission."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from lti_tool.db import utcnow
from lti_tool.models import Person, WriteupDoc, WriteupSubmission
from lti_tool.security_models import AuditEvent

from .admin_support import new_admin, post_form, signed_in
from .browser import csrf_token, forms
from .test_marking import _course, _doc_link, _mark_form, _submit_as, _tutor
from .test_writeups import RISK, _open, _post, _row_ids

NOTICE = "Northfield Teaching School Hub is the controller.\n\nWrite to dpo@northfield.example."


def _entries(dbs, after: int, **where) -> list[AuditEvent]:
    dbs.expire_all()
    query = select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return list(dbs.scalars(query))


def _last_id(dbs) -> int:
    return dbs.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def _person_id(dbs, sub: str) -> int:
    return dbs.scalar(select(Person.id).where(Person.sub == sub))


def test_exports_marking_and_admin_actions_are_audited_and_filterable(app, tool, platform, dbs):
    start = _last_id(dbs)
    course = _course(platform)
    participant, _, ppage = _submit_as(platform, course, "p-audit-dina", "Dina Auditson")
    dina = _person_id(dbs, "p-audit-dina")

    # The participant exports their submitted write-up as PDF.
    base = ppage.url.split("/s/")[0]
    history = participant.http.get(ppage.url.split("#")[0] + "/history")
    pdf_link = re.search(r'href="([^"]+/export/\d+\.pdf)"', history.text).group(1)
    assert participant.http.get(base + pdf_link).headers["Content-Type"] == "application/pdf"
    [export] = _entries(dbs, start, action="writeup.export_pdf")
    assert export.actor == f"person:{dina} (participant)" and export.subject_person_id == dina

    # A tutor marks and releases, then downloads the cohort dashboard as CSV.
    tutor, queue = _tutor(platform, course, user_id="t-audit", name="Tara Auditor")
    tara = _person_id(dbs, "t-audit")
    mark_page = tutor.http.get(base + _doc_link(queue, "Dina Auditson"))
    data, _ = _mark_form(mark_page, [2, 2, 2, 2, 2])
    released = tutor.http.post(mark_page.url, data={**data, "action": "release", "kind": "first"})
    assert "Mark released" in released.text
    tutor_actor = f"person:{tara} (tutor)"
    for action in ("writeup.mark", "writeup.release"):
        [entry] = _entries(dbs, start, action=action)
        assert entry.actor == tutor_actor and entry.subject_person_id == dina and entry.target_type == "writeup_submission"
    tbase = queue.url.split("/marking/")[0] + "/"
    dashboard = tutor.http.get(tbase + "dashboard.csv")
    assert dashboard.status_code == 200 and "Dina Auditson" in dashboard.content.decode("utf-8-sig")
    [csv_entry] = _entries(dbs, start, action="export.dashboard_csv")
    assert csv_entry.actor == tutor_actor and csv_entry.detail["people"] >= 1

    # An admin signs in, changes the privacy notice, reads the log, exports it, signs out.
    name, password = new_admin(app, "audit")
    admin = signed_in(tool, name, password)
    [sign_in] = _entries(dbs, start, action="admin.sign_in", actor=f"admin:{name}")
    settings = admin.get(tool.url + "/admin/settings")
    fields = forms(settings.text)[-1].fields
    fields.update({"PROVIDER_NAME": "Northfield Teaching School Hub", "PRIVACY_NOTICE": NOTICE})
    saved = admin.post(tool.url + "/admin/settings", data=fields)
    assert "Settings saved" in saved.text
    [change] = _entries(dbs, start, action="settings.update", actor=f"admin:{name}")
    assert change.detail["PROVIDER_NAME"]["after"] == "Northfield Teaching School Hub"

    log = admin.get(tool.url + "/admin/audit", params={"person": "dina auditson"})
    assert log.status_code == 200
    for action in ("writeup.export_pdf", "writeup.mark", "writeup.release"):
        assert f"<code>{action}</code>" in log.text
    assert "admin.sign_in" not in log.text.split("<tbody>")[1]  # not about Dina
    assert "Tara Auditor — person:" in log.text  # the actor's name beside their id
    by_actor = admin.get(tool.url + "/admin/audit", params={"actor": f"person:{tara} "})
    body = by_actor.text.split("<tbody>")[1]
    assert "export.dashboard_csv" in body and "writeup.export_pdf" not in body
    by_action = admin.get(tool.url + "/admin/audit", params={"action": "writeup.release"}).text.split("<tbody>")[1]
    assert "writeup.release" in by_action and "writeup.mark<" not in by_action
    today, yesterday = utcnow().date(), (utcnow() - timedelta(days=1)).date()
    dated = admin.get(tool.url + "/admin/audit", params={"person": "Dina", "date_from": today.isoformat(),
                                                         "date_to": today.isoformat()})
    assert "writeup.release" in dated.text
    before = admin.get(tool.url + "/admin/audit", params={"person": "Dina", "date_to": yesterday.isoformat()})
    assert "No entries match these filters" in before.text
    bad = admin.get(tool.url + "/admin/audit", params={"date_from": "31/02/2026", "action": "no.such"})
    assert bad.status_code == 400 and "There is a problem" in bad.text

    exported = admin.get(tool.url + "/admin/audit.csv", params={"person": "Dina Auditson"})
    assert exported.status_code == 200 and exported.headers["Cache-Control"] == "private, no-store"
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {r["Action"] for r in rows} >= {"writeup.export_pdf", "writeup.mark", "writeup.release"}
    assert {r["Person concerned"] for r in rows} == {"Dina Auditson"}
    [csv_audit] = _entries(dbs, start, action="audit.export_csv", actor=f"admin:{name}")
    assert csv_audit.detail["filters"] == {"person": "Dina Auditson"} and csv_audit.detail["entries"] == len(rows)

    # The privacy notice shows the provider's text, escaped, as paragraphs.
    notice = admin.get(tool.url + "/privacy")
    assert "<p>Northfield Teaching School Hub is the controller.</p>" in notice.text
    assert "<p>Write to dpo@northfield.example.</p>" in notice.text

    logout_page = admin.get(tool.url + "/admin/settings")
    post_form(tool, admin, "/admin/settings", "/admin/logout", {})
    assert _entries(dbs, start, action="admin.sign_out", actor=f"admin:{name}")
    assert logout_page.status_code == 200

    # Back to the standard notice for the other tests.
    admin2 = signed_in(tool, name, password)
    fields = forms(admin2.get(tool.url + "/admin/settings").text)[-1].fields
    fields.update({"PROVIDER_NAME": "", "PRIVACY_NOTICE": ""})
    admin2.post(tool.url + "/admin/settings", data=fields)
    assert "your NPQ provider" in admin2.get(tool.url + "/privacy").text


def test_entries_cannot_be_changed_or_deleted_through_the_orm(app):
    from lti_tool import audit
    from lti_tool.db import db

    with app.app_context():
        entry = audit.record("test.append_only", target_type="test", subject=12345)
        db().commit()
        entry.action = "test.changed"
        with pytest.raises(RuntimeError, match="append-only"):
            db().commit()
        db().rollback()
        db().delete(db().get(AuditEvent, entry.id))
        with pytest.raises(RuntimeError, match="append-only"):
            db().commit()
        db().rollback()
        kept = db().get(AuditEvent, entry.id)
        assert kept.action == "test.append_only" and kept.subject_person_id == 12345
    no_edit = [r.rule for r in app.url_map.iter_rules()
               if r.rule.startswith("/admin/audit") and r.methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert no_edit == []


def test_privacy_notice_is_in_the_footer_of_participant_tutor_and_admin_pages(app, tool, platform):
    course = _course(platform)
    _, _, ppage = _submit_as(platform, course, "p-footer", "Fola Footer")
    _, queue = _tutor(platform, course, user_id="t-footer", name="Tim Footer")
    name, password = new_admin(app, "footer")
    admin_page = signed_in(tool, name, password).get(tool.url + "/admin/")
    for page in (ppage, queue, admin_page):
        assert re.search(r'<footer class="site-footer">.*href="/privacy"', page.text, re.S), page.url
    notice = requests.get(tool.url + "/privacy")  # no launch, no admin: public
    assert notice.status_code == 200 and "is the controller of your personal data" in notice.text
    assert "processor" in notice.text and '<footer class="site-footer">' in notice.text
    missing = requests.get(tool.url + "/no-such-page")
    assert missing.status_code == 404 and 'href="/privacy"' in missing.text


def test_pupil_names_are_flagged_before_submission_and_the_participant_may_submit_anyway(platform, dbs):
    browser, spec, page = _open(platform, "NPQSL/risk-assessment")
    assert "Do not name pupils, colleagues or families" in page.text
    row = _row_ids(page, "risks")[0]
    description = "I worked with pupil Amira (DOB 12/03/2015) on her reading fluency."
    data = {"f.overview.project-title": "Reading fluency", "f.overview.sdp-priority": "Literacy",
            "f.overview.project-lead": "Asha Patel", "f.overview.description": description,
            **{f"t.risks.{row}.{k}": v for k, v in RISK.items()}}
    warned = _post(browser, page, data, action="submit")
    assert warned.status_code == 200 and "Not submitted yet: check these passages" in warned.text
    assert "pupil Amira" in warned.text and "DOB 12/03/2015" in warned.text
    assert 'value="submit-anyway"' in warned.text and 'form="activity-form"' in warned.text
    doc = dbs.scalar(select(WriteupDoc).join(WriteupDoc.person).where(Person.sub == spec.user_id))
    assert doc.content["overview"]["description"] == description  # the draft is kept as written
    assert dbs.scalars(select(WriteupSubmission).where(WriteupSubmission.doc_id == doc.id)).all() == []
    assert description in warned.text  # shown back in the editor, unchanged

    done = browser.http.post(warned.url.split("#")[0], data={**forms(warned.text)[-1].fields, "action": "submit-anyway"})
    assert done.status_code == 200 and "Submitted: read-only" in done.text, done.text[:500]
    dbs.expire_all()
    [submission] = dbs.scalars(select(WriteupSubmission).where(WriteupSubmission.doc_id == doc.id)).all()
    assert submission.content["overview"]["description"] == description
    assert csrf_token(done.text)
