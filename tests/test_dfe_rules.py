"""DfE's rules, exactly (issue #16 items 5, 6 and the records of 7): declarations by the NPQ's kind
and DfE's schedules, completed only with has_passed and met engagement, voided only to retract;
the write-up policy per programme (formative or provider-assessed) as it reaches a real platform's
gradebook, never the DfE outcome; special consideration, malpractice and appeals with their
audit entries; word limits by NPQ."""
from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import datetime, timezone

from sqlalchemy import select

from lti_tool.assessment import declarations as dfe
from lti_tool.assessment.engagement import Item, PersonEngagement
from lti_tool.assessment.models import AssessmentAttempt, AssessmentEvent, AssessmentWindow
from lti_tool.assessment.pack import check_assessments
from lti_tool.assessment.schedules import SCHEDULES, allowed, declaration_types, schedule, schedules_for, word_cap_for
from lti_tool.db import db
from lti_tool.models import Person
from lti_tool.security_models import AuditEvent

from .browser import csrf_token, forms
from .test_assessment import (GOOD, PACKS, _ago, _base, _course, _mark, _mark_link, _open_window, _participant,
                              _scores, _submit, _tutor)
from .test_marking import _course as _writeup_course
from .test_marking import _doc_link, _mark_form, _scores_for, _submit_as
from .test_marking import _tutor as _writeup_tutor
from .test_security import _admin

UTC = timezone.utc


# -- DfE's schedules and declaration types --------------------------------------------------------

def test_retained_2_is_for_leadership_npqs_only_and_milestones_follow_dfe_schedules():
    assert declaration_types("leadership") == ("started", "retained-1", "retained-2", "completed")
    assert declaration_types("specialist") == ("started", "retained-1", "completed")
    assert not allowed("specialist", "retained-2") and allowed("leadership", "retained-2")
    assert all(s.milestone_date("retained-2") is None for s in schedules_for("specialist"))
    assert {s.identifier for s in schedules_for("specialist")} == {"npq-specialist-autumn", "npq-specialist-spring"}
    # DfE's published milestone dates (npq-registration API guidance), by schedule and cohort.
    lead = schedule("2024:npq-leadership-autumn")
    assert [(t, d.isoformat()) for t, d in lead.milestones] == [
        ("started", "2024-11-25"), ("retained-1", "2025-05-26"), ("retained-2", "2026-01-24"),
        ("completed", "2026-07-25")]
    spec = schedule("2025:npq-specialist-spring")
    assert [(t, d.isoformat()) for t, d in spec.milestones] == [
        ("started", "2025-05-30"), ("retained-1", "2025-12-19"), ("completed", "2026-08-21")]
    # Specialist and leadership NPQs on the same cohort share start and retention 1, not completion.
    for key, s in SCHEDULES.items():
        other = schedule(key.replace("specialist", "leadership") if "specialist" in key
                         else key.replace("leadership", "specialist"))
        assert s.milestone_date("started") == other.milestone_date("started")
        assert s.milestone_date("completed") != other.milestone_date("completed")


def test_word_limits_by_npq_and_pack_override():
    # DfE's course pages: "Reflection based on case study (up to 2,500 words)" for NPQSL, NPQH, NPQEL and
    # NPQEYL; "(1,500 words)" for the specialist NPQs.
    assert word_cap_for("leadership") == 2500
    assert word_cap_for("specialist") == 1500
    configs, problems = check_assessments(PACKS)
    assert problems == []
    assert configs["NPQSL"].word_cap == 2500 and configs["NPQLT"].word_cap == 1500


def test_a_pack_with_invented_engagement_percentages_is_refused(tmp_path):
    import shutil

    from lti_tool.assessment.pack import check_assessment
    from lti_tool.content import check_pack

    shutil.copytree(PACKS / "npqsl", tmp_path / "npqsl")
    path = tmp_path / "npqsl" / "assessment.yaml"
    text = path.read_text()
    path.write_text(text.replace("  threshold: 90\n", "  threshold: 90\n  milestones:\n    - {id: retained-1, engagement: 30}\n"))
    programme, _ = check_pack(tmp_path / "npqsl")
    config, problems = check_assessment(tmp_path / "npqsl", programme)
    assert config is None and any("milestones" in p.message for p in problems)


def _pe(done: int, total: int, *, outcome=None, outcome_at=None, retracted_at=None, evidence=(), first=None):
    items = [Item("activity", f"a{i}", f"Activity {i}", "Module",
                  datetime(2026, 1, 1, tzinfo=UTC) if i < done else None) for i in range(total)]
    pe = PersonEngagement(person=Person(name="Ann Example", sub="p-ann"), items=items, threshold=90.0,
                          outcome=outcome, outcome_at=outcome_at, retracted_at=retracted_at)
    pe.evidence, pe.first_work = sorted(evidence), first
    return pe


def test_declarations_by_date_completed_needs_outcome_and_engagement_and_voided_only_retracts(app):
    configs, _ = check_assessments(PACKS)
    sl, lt = configs["NPQSL"], configs["NPQLT"]
    lead, spec = schedule("2024:npq-leadership-autumn"), schedule("2024:npq-specialist-autumn")
    at = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    evidence = [at(2024, 11, 1), at(2024, 12, 3), at(2025, 8, 1), at(2026, 3, 2)]
    passed = _pe(10, 10, outcome="passed", outcome_at=at(2026, 6, 1), evidence=evidence, first=at(2024, 10, 30))
    r = dfe.report_for(passed, sl, lead)
    got = {d.type: d for d in r.declarations}
    assert list(got) == ["started", "retained-1", "retained-2", "completed"]
    assert got["started"].date == at(2024, 10, 30)
    assert got["retained-1"].date == at(2024, 12, 3)  # the first evidence after the start milestone (25 Nov 2024)
    assert got["retained-2"].date == at(2025, 8, 1)  # ... after retention point 1 (26 May 2025)
    assert not got["retained-2"].late and got["completed"].has_passed is True and r.state == "passed"
    # A specialist NPQ never has a retained-2, whatever the schedule passed in.
    r = dfe.report_for(passed, lt, spec)
    assert [d.type for d in r.declarations] == ["started", "retained-1", "completed"]

    failed = _pe(9, 10, outcome="failed", outcome_at=at(2026, 6, 1), evidence=evidence)
    r = dfe.report_for(failed, sl, lead)
    assert r.declared("completed").has_passed is False and r.state == "failed" and r.held_back is None
    data = dfe.to_json(sl, "Course", lead, [r])["participants"][0]
    assert data["declarations"][-1] == {"participant_id": None, "declaration_type": "completed",
                                        "declaration_date": "2026-06-01T00:00:00.000Z",
                                        "course_identifier": "npq-senior-leadership", "has_passed": False}

    # Below 90%: the outcome is held back and the report says why; nothing completed is declared.
    low = _pe(8, 10, outcome="passed", outcome_at=at(2026, 6, 1), evidence=evidence)
    r = dfe.report_for(low, sl, lead)
    assert r.declared("completed") is None and r.state is None
    assert r.held_back.startswith("Held back: engagement is 80% (8 of 10 required items)") and "1 more item" in r.held_back
    row = dfe.report_rows(sl, lead, [r])[0]
    assert row["completed"] == "" and row["has_passed"] == "" and row["state"] == "" and "Held back" in row["held_back_reason"]
    assert dfe.to_json(sl, "Course", lead, [r])["participants"][0]["outcome"] is None

    # No outcome, no completed declaration, whatever the engagement.
    assert dfe.report_for(_pe(10, 10, evidence=evidence), sl, lead).declared("completed") is None
    # voided: only to retract a completed declaration whose outcome was voided...
    retract = dfe.report_for(_pe(10, 10, retracted_at=at(2026, 7, 1), evidence=evidence), sl, lead)
    assert retract.state == "voided" and retract.declared("completed") is None
    j = dfe.to_json(sl, "Course", lead, [retract])["participants"][0]
    assert j["outcome"]["state"] == "voided" and j["void"]["declaration_type"] == "completed"
    # ... never for one that could not have been declared (engagement below 90%).
    assert dfe.report_for(_pe(5, 10, retracted_at=at(2026, 7, 1), evidence=evidence), sl, lead).state is None
    # Without the course's schedule, retention points are not dated.
    r = dfe.report_for(passed, sl, None)
    assert r.declared("retained-1") is None and "DfE schedule" in r.declarations[1].note


def test_specialist_course_offers_only_specialist_schedules_and_never_retained_2(platform, app):
    course = _course(platform, ref="NPQLT/case-study")
    tutor, queue = _tutor(platform, course)
    _participant(platform, course, "p-lena", "Lena Teach")
    report = tutor.http.get(_base(queue) + re.search(r'href="([^"]+/outcomes)"', tutor.http.get(
        queue.url.replace("/marking", "/engagement")).text).group(1))
    assert "npq-specialist-spring" in report.text and "npq-leadership" not in report.text
    refused = tutor.http.post(report.url + "/schedule", data={"csrf_token": csrf_token(report.text),
                                                              "schedule": "2025:npq-leadership-spring"})
    assert refused.status_code == 400 and "Choose one of the DfE specialist schedules" in refused.text
    saved = tutor.http.post(report.url + "/schedule", data={"csrf_token": csrf_token(report.text),
                                                            "schedule": "2025:npq-specialist-spring"})
    assert "DfE schedule saved" in saved.text
    rows = list(csv.DictReader(io.StringIO(tutor.http.get(report.url + ".csv").content.decode("utf-8-sig"))))
    assert "retained-2" not in rows[0] and rows[0]["schedule_identifier"] == "npq-specialist-spring"
    data = json.loads(tutor.http.get(report.url + ".json").text)
    assert all(d["declaration_type"] != "retained-2" for p in data["participants"] for d in p["declarations"])


# -- the outcome held below 90%, and the records -----------------------------------------------------

def _first_and_release(tutor, platform, course, name, outcome, justification):
    """First mark; if second marking applies, a second tutor marks and agrees; then release."""
    page = tutor.http.get(_mark_link(tutor.http.get(tutor.http.get(tutor.base_queue).url), name))
    marked = _mark(tutor, page, "first", outcome, justification)
    releaser = tutor
    if "second marker marks it next" in marked.text:
        releaser, bq = _tutor(platform, course, user_id="t-second", name="Sal Second")
        bpage = releaser.http.get(_mark_link(bq, name))
        second = _mark(releaser, bpage, "second", outcome, "Agree.")
        marked = _mark(releaser, second, "agreed", outcome, justification)
    done = releaser.http.post(marked.url, data={"csrf_token": csrf_token(marked.text), "action": "release"})
    assert "Outcome released" in done.text, done.text[-600:]
    return done


def _record(tutor, mark_page, kind, summary):
    form = next(f for f in forms(mark_page.text) if f.action.endswith("/records"))
    return tutor.http.post(_base(mark_page) + form.action, data={**form.fields, "kind": kind, "summary": summary})


def _decide(tutor, record_page, decision, reason):
    return tutor.http.post(record_page.url, data={"csrf_token": csrf_token(record_page.text),
                                                  "decision": decision, "reason": reason})


def _attempts(app, sub):
    with app.app_context():
        return [(a.window.number, a.attempt_no, a.outcome, a.discounted) for a in db().scalars(
            select(AssessmentAttempt).join(AssessmentWindow).where(AssessmentAttempt.person.has(sub=sub))
            .order_by(AssessmentAttempt.id))]


def _trail(app, sub) -> list[str]:
    with app.app_context():
        return [e.action for e in db().scalars(select(AssessmentEvent).join(AssessmentAttempt).where(
            AssessmentAttempt.person.has(sub=sub)).order_by(AssessmentEvent.id))]


def test_appeal_upheld_remarks_and_the_outcome_is_held_below_90_percent(platform, app):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    tutor.base_queue = queue.url
    _open_window(tutor, queue)
    zara, page = _participant(platform, course, "p-zara", "Zara Appeal")
    _submit(zara, page, GOOD)
    _first_and_release(tutor, platform, course, "Zara Appeal", "fail", "The diagnosis does not use the data.")
    _scores(platform, app, "p-zara", lambda b: b.get("scoreGiven") == 0)

    mpage = tutor.http.get(_mark_link(tutor.http.get(queue.url), "Zara Appeal"))
    assert "Special consideration, malpractice and appeals" in mpage.text
    empty = _record(tutor, mpage, "appeal", "")
    assert empty.status_code == 400 and "Give the summary of the case" in empty.text
    rec = _record(tutor, mpage, "appeal", "The marker missed the data analysis in section 2.")
    assert rec.status_code == 200 and "Appeal: Zara Appeal" in rec.text and "Is the case upheld?" in rec.text
    no_reason = _decide(tutor, rec, "upheld", "")
    assert no_reason.status_code == 400 and "reason for the decision" in no_reason.text
    decided = _decide(tutor, rec, "upheld", "The analysis is there; a fresh marker re-marks it.")
    assert "Decision recorded: upheld" in decided.text and "Outcome reopened for a re-mark" in decided.text
    again = _decide(tutor, decided, "not-upheld", "Changed my mind")
    assert again.status_code == 400 and "already been decided" in again.text
    # The gradebook hears the outcome is withdrawn; a re-mark then changes it.
    _scores(platform, app, "p-zara", lambda b: b.get("gradingProgress") == "PendingManual")
    assert _attempts(app, "p-zara") == [(1, 1, None, False)]
    _first_and_release(tutor, platform, course, "Zara Appeal", "pass", "Re-marked: the data analysis is thorough.")
    assert _scores(platform, app, "p-zara", lambda b: b.get("scoreGiven") == 1)[-1]["scoreGiven"] == 1
    trail = _trail(app, "p-zara")
    for action in ("appeal recorded", "outcome reopened for a re-mark", "appeal upheld", "outcome released"):
        assert action in trail, (action, trail)
    assert trail.index("appeal upheld") < len(trail) - 1 - trail[::-1].index("outcome released")
    with app.app_context():
        audit = [e.action for e in db().scalars(select(AuditEvent).where(AuditEvent.target_type == "assessment_record"))]
    assert "assessment.record.raise" in audit and "assessment.record.decide" in audit

    # Passed, but engagement far below 90%: the report holds the outcome back and says why.
    eng = tutor.http.get(queue.url.replace("/marking", "/engagement"))
    report = tutor.http.get(_base(eng) + re.search(r'href="([^"]+/outcomes)"', eng.text).group(1))
    row = next(r for r in csv.DictReader(io.StringIO(tutor.http.get(report.url + ".csv").content.decode("utf-8-sig")))
               if r["lms_user_id"] == "p-zara")
    assert row["state"] == "" and row["completed"] == "" and row["has_passed"] == ""
    assert row["held_back_reason"].startswith("Held back: engagement is 0%") and "90% is needed" in row["held_back_reason"]
    assert "Held back: engagement is 0%" in report.text
    data = json.loads(tutor.http.get(report.url + ".json").text)
    z = next(p for p in data["participants"] if p["lms_user_id"] == "p-zara")
    assert z["outcome"] is None and "Held back" in z["held_back_reason"]
    assert "completed" not in [d["declaration_type"] for d in z["declarations"]]
    mine = zara.http.get(page.url.replace("/assessment/NPQSL", "/assessment/NPQSL/engagement"))
    assert "Held back: engagement is 0%" in mine.text


def test_malpractice_voids_and_special_consideration_allows_an_uncounted_attempt(platform, app):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    tutor.base_queue = queue.url
    _open_window(tutor, queue, start=_ago(days=8, hours=12))
    mo, mpage_p = _participant(platform, course, "p-mo", "Mo Malpractice")
    sc, spage = _participant(platform, course, "p-sc", "Sky Consider")
    mx, xpage = _participant(platform, course, "p-mx", "Max Missing")  # never submits
    _submit(mo, mpage_p, GOOD)
    _submit(sc, spage, GOOD)

    # An appeal needs a released outcome.
    mpage = tutor.http.get(_mark_link(tutor.http.get(queue.url), "Mo Malpractice"))
    early = _record(tutor, mpage, "appeal", "Unfair")
    assert early.status_code == 400 and "appeal is against a released outcome" in early.text
    assert "Unfair" in early.text and 'value="appeal" checked' in early.text  # what was typed is kept
    rec = _record(tutor, mpage, "malpractice", "Large passages match another participant's response.")
    decided = _decide(tutor, rec, "upheld", "Collusion confirmed at interview.")
    assert "Attempt voided" in decided.text
    assert _attempts(app, "p-mo") == [(1, 1, "voided", False)]
    assert "Malpractice: Collusion confirmed" in mo.http.get(mpage_p.url).text
    assert "malpractice upheld" in _trail(app, "p-mo") and "attempt voided" in _trail(app, "p-mo")
    # A voided attempt is an assessment record, not a DfE outcome: nothing was reported, nothing to retract.
    report = json.loads(tutor.http.get(re.sub(r"/marking.*", "/outcomes.json", queue.url)).text)
    mo_row = next(p for p in report["participants"] if p["lms_user_id"] == "p-mo")
    assert mo_row["outcome"] is None and "void" not in mo_row

    # Special consideration: not upheld changes nothing; upheld on a failed attempt discounts it.
    _first_and_release(tutor, platform, course, "Sky Consider", "fail", "Generic solutions.")
    spage_t = tutor.http.get(_mark_link(tutor.http.get(queue.url), "Sky Consider"))
    first = _record(tutor, spage_t, "special-consideration", "Bereavement during the window.")
    not_upheld = _decide(tutor, first, "not-upheld", "No evidence supplied.")
    assert "Decision recorded: not upheld" in not_upheld.text
    assert _attempts(app, "p-sc") == [(1, 1, "failed", False)]
    second = _record(tutor, spage_t, "special-consideration", "Bereavement: evidence now supplied.")
    _decide(tutor, second, "upheld", "Evidence seen; the attempt does not count.")
    assert _attempts(app, "p-sc") == [(1, 1, "failed", True)]
    # Missing (the deadline passed, nothing submitted): special consideration without any attempt yet.
    xmark = tutor.http.get(_mark_link(tutor.http.get(queue.url), "Max Missing"))
    assert "missing" in xmark.text
    _decide(tutor, _record(tutor, xmark, "special-consideration", "In hospital for the whole window."),
            "upheld", "Medical evidence seen.")
    assert _attempts(app, "p-mx") == [(1, 1, None, True)]
    queue = _open_window(tutor, tutor.http.get(queue.url))
    assert "Window 2 scheduled" in queue.text
    page = sc.http.get(spage.url)
    assert "Window 2" in page.text and "retake" not in page.text.split("Window 2")[1][:20]  # still attempt 1
    _submit(sc, page, GOOD)
    assert _attempts(app, "p-sc") == [(1, 1, "failed", True), (2, 1, None, False)]
    register = tutor.http.get(re.sub(r"/marking.*", "/records", queue.url))
    assert register.text.count("Sky Consider") == 2 and "Mo Malpractice" in register.text
    assert "Attempt not counted; another attempt allowed" in register.text


# -- the write-up policy, per programme ---------------------------------------------------------

def _set_policy(admin, tool, code, assessed, engagement):
    page = admin.http.get(tool.url + "/admin/settings")
    assert f"writeups-assessed-{code}" in page.text and "Write-ups are provider-assessed" in page.text
    data = {"csrf_token": csrf_token(page.text)}
    for tag in re.findall(r"<input[^>]*>", page.text):  # keep the other settings as they are
        name = re.search(r'name="([^"]+)"', tag)
        if name and 'type="checkbox"' in tag and re.search(r"\schecked\b", tag):
            data[name.group(1)] = "y"
        elif name and re.search(r'type="(text|number)"', tag):
            value = re.search(r'value="([^"]*)"', tag)
            data[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for area in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page.text, re.S):
        data[area[0]] = html.unescape(area[1]).lstrip("\n")
    data["writeups-shown"] = [code]  # the programmes the form showed: only these change
    for name, on in ((f"writeups-assessed-{code}", assessed), (f"writeups-engagement-{code}", engagement)):
        data.pop(name, None)
        if on:
            data[name] = "y"
    saved = admin.http.post(tool.url + "/admin/settings", data=data)
    assert "Settings saved" in saved.text


def test_formative_writeups_post_no_mark_and_never_feed_the_dfe_outcome(platform, app, tool):
    admin, _, _ = _admin(app, tool)
    _set_policy(admin, tool, "NPQSL", assessed=True, engagement=True)  # from the default, whatever ran before
    _set_policy(admin, tool, "NPQSL", assessed=False, engagement=False)
    try:
        course = _writeup_course(platform)
        _submit_as(platform, course, "p-wu-formative", "Fola Formative")
        tutor, queue = _writeup_tutor(platform, course)
        mark_page = tutor.http.get(queue.url.split("/s/")[0] + _doc_link(queue, "Fola Formative"))
        data, _ = _mark_form(mark_page, [3, 3, 3, 3, 3], overall="Well judged risks.")
        released = tutor.http.post(mark_page.url, data={**data, "action": "release", "kind": "first"})
        assert "Mark released" in released.text
        body = _scores(platform, app, "p-wu-formative", lambda b: "Feedback released" in b.get("comment", ""))[-1]
        assert "scoreGiven" not in body and body["gradingProgress"] == "NotReady" and "Well judged risks" in body["comment"]
        with app.app_context():
            audit = db().scalars(select(AuditEvent).where(AuditEvent.action == "settings.update")
                                 .order_by(AuditEvent.id.desc())).first()
            assert "WRITEUPS_ASSESSED:NPQSL" in audit.detail

        # The same person in the case-study course: write-ups left out of engagement, no DfE outcome from them.
        acourse = {**_course(platform), "context_id": course["context_id"]}
        t2, q2 = _tutor(platform, acourse)
        eng = t2.http.get(q2.url.replace("/marking", "/engagement"))
        assert "0 project write-ups" in eng.text and "of the 54 required items" in eng.text
        report = json.loads(t2.http.get(q2.url.replace("/marking", "/outcomes.json")).text)
        fola = next(p for p in report["participants"] if p["lms_user_id"] == "p-wu-formative")
        assert fola["outcome"] is None and fola["engagement"]["required"] == 54
        assert "completed" not in [d["declaration_type"] for d in fola["declarations"]]

        _set_policy(admin, tool, "NPQSL", assessed=True, engagement=True)
        _submit_as(platform, course, "p-wu-assessed", "Abi Assessed")
        queue = tutor.http.get(queue.url)
        mark_page = tutor.http.get(queue.url.split("/s/")[0] + _doc_link(queue, "Abi Assessed"))
        data, _ = _mark_form(mark_page, [3, 3, 3, 3, 3])
        tutor.http.post(mark_page.url, data={**data, "action": "release", "kind": "first"})
        body = _scores(platform, app, "p-wu-assessed", lambda b: b.get("scoreGiven") is not None)[-1]
        assert body["gradingProgress"] == "FullyGraded" and body["scoreGiven"] > 0
        eng = t2.http.get(eng.url)
        assert "3 project write-ups" in eng.text and "of the 57 required items" in eng.text
        assert not [b for b in _scores_for(platform, "p-wu-formative") if b.get("scoreGiven") is not None]
    finally:
        _set_policy(admin, tool, "NPQSL", assessed=True, engagement=True)


def test_participant_pages_show_no_dfe_codes(platform):
    course = _course(platform)
    _tutor(platform, course)
    p, page = _participant(platform, course, "p-codes", "Cody Plain")
    mine = p.http.get(page.url + "/engagement")
    assert "Participant start" in mine.text and "Retention point 1" in mine.text
    for code in ("retained-1", "retained-2", "npq-senior-leadership", "NPQSL/"):
        assert code not in mine.text, code

