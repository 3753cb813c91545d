"""The in-school project's write-ups, end to end through an independent platform."""
from __future__ import annotations

import re
import time

from sqlalchemy import select

from lti_tool.models import WriteupDoc, WriteupSubmission, WriteupVersion

from .browser import Browser, csrf_token, forms
from .conftest import learner


def _open(platform, ref, browser=None, **kw):
    browser = browser or Browser()
    spec = learner(custom={"npq_item": ref}, lineitems_url=platform.issuer + "/lineitems", **kw)
    spec.lineitem_url = platform.add_line_item(ref, 100, resource_id=ref)
    page = browser.launch(platform, spec)
    assert page.status_code == 200, page.text[:400]
    return browser, spec, page


def _fields(page):
    return forms(page.text)[-1].fields


def _post(browser, page, data, action="save"):
    form = {**_fields(page), **data, "action": action}
    return browser.http.post(page.url.split("#")[0], data=form)


def _wait(pred, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def _row_ids(page, section):
    return list(dict.fromkeys(re.findall(rf'name="t\.{section}\.([0-9a-f]+)\.', page.text)))


RISK = {
    "description": "Staff turnover in August means new teachers miss the training.",
    "likelihood": "4", "impact": "5", "mitigation": "Record the training and run it again in induction.",
    "owner": "Deputy head", "review-date": "2027-01-15",
}


def test_risk_assessment_fill_rows_conflict_submit_readonly_return_resubmit(platform, dbs, app):
    browser, spec, page = _open(platform, "NPQSL/risk-assessment")
    assert "Risk register" in page.text and "Submit for marking" in page.text
    overview = {"f.overview.project-title": "Reading fluency in Year 7",
                "f.overview.sdp-priority": "Literacy across the curriculum",
                "f.overview.project-lead": "Asha Patel", "f.overview.description": "A fluency routine."}
    row = _row_ids(page, "risks")[0]
    risk = {f"t.risks.{row}.{k}": v for k, v in RISK.items()}
    saved = _post(browser, page, {**overview, **risk}, action="row:add:risks")
    assert saved.status_code == 200 and "#sec-risks" in saved.url or "Risk 2" in saved.text
    page = browser.http.get(saved.url.split("#")[0])
    rows = _row_ids(page, "risks")
    assert len(rows) == 2 and "rating 20 of 25" in page.text
    assert "Highest risks:" in page.text and "Staff turnover" in page.text

    second = {f"t.risks.{rows[1]}.{k}": v for k, v in {**RISK, "description": "Timetable clash", "likelihood": "2",
                                                        "impact": "2"}.items()}
    moved = _post(browser, page, second, action="row:down:risks:0")
    page = browser.http.get(moved.url.split("#")[0])
    assert _row_ids(page, "risks") == [rows[1], rows[0]]  # reordered

    # Autosave (the same inputs as JSON pairs), then a second device still on the old version.
    version = int(_fields(page)["version"])
    pairs = [[k, v] for k, v in _fields(page).items() if k[:2] in ("f.", "t.")]
    pairs = [[k, "Reading fluency in Years 7 and 8" if k == "f.overview.project-title" else v] for k, v in pairs]
    auto = browser.http.post(page.url + "/draft", json={"pairs": pairs, "version": version},
                             headers={"X-CSRFToken": csrf_token(page.text)})
    assert auto.status_code == 200 and auto.json()["version"] == version + 1
    stale = _post(browser, page, {"f.overview.project-title": "Other device's title"})
    assert stale.status_code == 409 and "changed in another tab" in stale.text
    assert 'value="Other device&#39;s title"' in stale.text or "Other device" in stale.text  # kept on screen
    doc = dbs.scalar(select(WriteupDoc).join(WriteupDoc.person).where(WriteupDoc.template_ref == "NPQSL/risk-assessment")
                     .order_by(WriteupDoc.id.desc()))
    assert doc.content["overview"]["project-title"] == "Reading fluency in Years 7 and 8"

    page = browser.http.get(page.url)
    done = _post(browser, page, {}, action="submit")
    assert done.status_code == 200 and "Submitted: read-only" in done.text, done.text.split('id="error"')[-1][:1500]
    assert 'name="action"' not in done.text  # no editing controls

    # The gradebook hears: submitted, pending manual marking, no score yet.
    assert _wait(lambda: platform.received.scores)
    _, body = platform.received.scores[-1]
    assert body["activityProgress"] == "Submitted" and body["gradingProgress"] == "PendingManual"
    assert "scoreGiven" not in body and body["scoreMaximum"] == 100 and body["userId"] == spec.user_id

    # Read-only: neither the form nor autosave can change it.
    refused = browser.http.post(page.url, data={**_fields(page), "action": "save"})
    assert refused.status_code == 409
    refused_auto = browser.http.post(page.url + "/draft", json={"pairs": pairs, "version": 99},
                                     headers={"X-CSRFToken": csrf_token(page.text)})
    assert refused_auto.status_code == 409

    # Returned for resubmission (the tutor's action), resubmitted: both attempts kept.
    with app.app_context():
        from lti_tool.db import db
        from lti_tool.writeups.service import return_for_resubmission
        sub = db().scalar(select(WriteupSubmission).where(WriteupSubmission.doc_id == doc.id))
        return_for_resubmission(sub, "Add a risk about parental engagement.")
        db().commit()
    page = browser.http.get(page.url)
    assert "Returned for resubmission" in page.text and "parental engagement" in page.text
    again = _post(browser, page, {"f.overview.description": "A fluency routine, with parents."}, action="submit")
    assert "attempt 2" in again.text
    dbs.expire_all()
    subs = dbs.scalars(select(WriteupSubmission).where(WriteupSubmission.doc_id == doc.id)
                       .order_by(WriteupSubmission.attempt)).all()
    assert [s.attempt for s in subs] == [1, 2] and subs[0].status == "returned"
    assert subs[0].content["overview"]["description"] == "A fluency routine."
    history = browser.http.get(page.url + "/history")
    assert "Attempt" in history.text and history.text.count("Version ") >= 2


def test_action_plan_timeline_and_date_problems(platform):
    browser, _, page = _open(platform, "NPQSL/action-plan")
    row = _row_ids(page, "actions")[0]
    data = {"f.plan.aim": "Improve reading fluency", "f.plan.sdp-priority": "Literacy",
            "f.plan.problem": "Slow reading", "f.plan.evidence": "Fluency tests",
            f"t.actions.{row}.action": "Train tutors", f"t.actions.{row}.owner": "Head of English",
            f"t.actions.{row}.start": "2027-01-10", f"t.actions.{row}.end": "2027-02-20",
            f"t.actions.{row}.success-criteria": "All tutors model fluency",
            f"t.actions.{row}.status": "On track",
            f"t.actions.{row}.statements": "NPQSL/implementation/that-4"}
    saved = _post(browser, page, data)
    page = browser.http.get(saved.url)
    assert "Timeline: 10 January 2027 to 20 February 2027" in page.text and "tl-bar" in page.text
    assert 'value="NPQSL/implementation/that-4" checked' in page.text
    bad = dict(data)
    bad[f"t.actions.{row}.end"] = "2026-12-01"  # before the start
    bad[f"t.actions.{row}.start"] = "31/02/2027"  # not a date
    resp = _post(browser, page, bad, action="submit")
    assert resp.status_code == 400 and "is not a date (&#39;31/02/2027&#39;)" in resp.text
    assert 'type="text" id="t-actions-' in resp.text and 'value="31/02/2027"' in resp.text  # kept, visible
    assert "the end date is before the start date" not in resp.text  # only judged when both are dates


def test_impact_essay_word_limit_links_references_and_pasted_rich_text(platform):
    browser, _, page = _open(platform, "NPQSL/impact-essay")
    assert "Risk assessment" in page.text and "Action plan" in page.text  # links to the other parts
    assert "of 4,000 words" in page.text
    sections = ["context", "evidence-base", "implementation", "impact", "evaluation"]
    long = " ".join(["word"] * 900)
    data = {f"x.{s}": long for s in sections}
    data["x.context"] = "<b>Bold pasted</b> <script>alert(1)</script> " + long
    added = _post(browser, page, data, action="ref:add:references")
    page = browser.http.get(added.url.split("#")[0])
    assert 'name="r.references.0.author"' in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text
    refused = _post(browser, page, {"r.references.0.author": "Sharples, J.", "r.references.0.year": "2019",
                                    "r.references.0.title": "Putting evidence to work"}, action="submit")
    assert refused.status_code == 400 and "The write-up has 4,50" in refused.text and "the limit is 4,000" in refused.text
    page = browser.http.get(page.url)
    assert "Putting evidence to work" in page.text  # the draft, references included, was kept
    ok = _post(browser, page, {f"x.{s}": "A short section." for s in sections}, action="submit")
    assert ok.status_code == 200 and "Submitted: read-only" in ok.text


def test_oversized_field_is_refused_and_text_kept(platform):
    browser, _, page = _open(platform, "NPQSL/impact-essay")
    resp = _post(browser, page, {"x.context": "x" * 60001})
    assert resp.status_code == 400 and "the limit is 60,000" in resp.text
    page2 = browser.http.get(page.url)
    data = {"csrf_token": csrf_token(page2.text)}
    auto = browser.http.post(page.url + "/draft", json={"pairs": [["x.context", "y" * 60001]], "version": 0, **data},
                             headers={"X-CSRFToken": csrf_token(page2.text)})
    assert auto.status_code == 400 and "60,000" in auto.json()["error"]


def test_versions_are_kept_and_viewable(platform, dbs):
    browser, _, page = _open(platform, "NPQSL/action-plan")
    _post(browser, page, {"f.plan.aim": "First aim"})
    page = browser.http.get(page.url)
    _post(browser, page, {"f.plan.aim": "Second aim"})
    history = browser.http.get(page.url + "/history")
    links = re.findall(r'href="([^"]+/versions/\d+)"', history.text)
    assert len(links) >= 2
    base = page.url.split("/s/")[0]
    texts = [browser.http.get(base + l).text for l in links]
    assert any("First aim" in t for t in texts) and any("Second aim" in t for t in texts)


def test_other_participant_cannot_see_my_writeup(platform, dbs):
    browser, spec, page = _open(platform, "NPQSL/action-plan")
    _post(browser, page, {"f.plan.aim": "My private aim"})
    other, _, other_page = _open(platform, "NPQSL/action-plan", context_id=spec.context_id)
    assert "My private aim" not in other_page.text
    history = other.http.get(other_page.url + "/history")
    assert "My private aim" not in history.text


def test_export_any_version_to_pdf_and_word(platform, tmp_path):
    import io

    import docx
    from pypdf import PdfReader

    browser, spec, page = _open(platform, "NPQSL/risk-assessment")
    row = _row_ids(page, "risks")[0]
    data = {"m.school": "Northfield International School, Dubai",
            "f.overview.project-title": "Fluency for all", "f.overview.sdp-priority": "Literacy",
            "f.overview.project-lead": "Asha Patel", "f.overview.description": "Zoë’s “routine” <b>bold</b>",
            **{f"t.risks.{row}.{k}": v for k, v in RISK.items()}}
    _post(browser, page, data)
    history = browser.http.get(page.url + "/history")
    pdf_link = re.search(r'href="([^"]+/export/\d+\.pdf)"', history.text).group(1)
    base = page.url.split("/s/")[0]
    pdf = browser.http.get(base + pdf_link)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).replace(" ", "")
    for expected in ("Riskassessment", "AshaPatel", "Fluencyforall", "Riskregister", "Deputyhead", "<b>bold</b>",
                     "Highestrisks", "NorthfieldInternationalSchool,Dubai", "NationalProfessionalQualificationforSeniorLeadership"):
        assert expected in text, expected
    word = browser.http.get(base + pdf_link.replace(".pdf", ".docx"))
    document = docx.Document(io.BytesIO(word.content))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Risk register" in " ".join(headings)
    table = next(t for t in document.tables if "Likelihood" in " ".join(c.text for c in t.rows[0].cells))
    assert len(table.rows) == 2 and "Staff turnover" in table.rows[1].cells[0].text + table.rows[1].cells[1].text
    # Someone else's export is not reachable.
    other, _, _ = _open(platform, "NPQSL/risk-assessment")
    assert other.http.get(base + pdf_link).status_code == 401  # not their session
    _, _, other_page = _open(platform, "NPQSL/risk-assessment", browser=other)
    own = other.http.get(other_page.url + "/export/1.pdf")
    assert own.status_code == 404  # their own document has no such version; mine is never reached
