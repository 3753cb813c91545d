"""What people read, end to end through the independent platform: the school typed once and
filled in for the other write-ups, the statement checklist (ticked, saved, shown by reference),
PDF and Word from the write-up page with titles and whole-word ellipses, questions listed by the
activity's title with a link, and pages without internal codes."""
from __future__ import annotations

import html
import io
import re

import docx
from pypdf import PdfReader

from lti_tool.content import catalogue

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner
from .test_participant_wording import RAW_ID, assert_plain, visible_text

COURSE_HOME = {"npq_programme": "NPQSL"}
LONG_RISK = ("Staff turnover in August means that new teachers joining the English department miss "
             "the autumn training entirely")


def _launch(platform, browser, spec):
    page = browser.launch(platform, spec)
    assert page.status_code == 200, page.text[:300]
    return page, re.match(r"(.*/s/[^/]+/)", page.url).group(1)


def _form(page_html):
    return forms(page_html)[-1].fields


def _row(page_html, section):
    return re.search(rf'name="t\.{section}\.([0-9a-f]+)\.', page_html).group(1)


def _exports(page_html, base):
    root = base.split("/s/")[0]
    pdf = re.search(r'class="button secondary small" href="([^"]+\.pdf)"', page_html).group(1)
    word = re.search(r'class="button secondary small" href="([^"]+\.docx)"', page_html).group(1)
    return root + html.unescape(pdf), root + html.unescape(word)


def _pdf_text(data: bytes) -> str:
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def _docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return " ".join([p.text for p in document.paragraphs] + cells)


def _programme(app, code="NPQSL"):
    with app.app_context():
        return catalogue()[code]


def test_school_once_checklist_exports_and_plain_words(platform, app):
    browser = Browser()
    ctx = "plain-" + re.sub(r"\W", "", platform.issuer)[-6:]
    page, base = _launch(platform, browser, learner(context_id=ctx, custom={"npq_item": "NPQSL/risk-assessment"}))

    # The risk assessment: the school typed here, a long risk, saved.
    row = _row(page.text, "risks")
    saved = browser.http.post(page.url, data={
        **_form(page.text), "action": "save", "m.school": "Northfield Academy",
        "f.overview.project-title": "Reading fluency in Year 7", f"t.risks.{row}.description": LONG_RISK,
        f"t.risks.{row}.likelihood": "4", f"t.risks.{row}.impact": "5", f"t.risks.{row}.review-date": "2027-01-05"})
    risk_page = browser.http.get(saved.url)
    assert "Draft saved" in risk_page.text
    # PDF and Word from the write-up page itself: the highest risk cut at a whole word with "…",
    # the date in words, the school on the cover.
    pdf_url, word_url = _exports(risk_page.text, base)
    for text in (_pdf_text(browser.http.get(pdf_url).content), _docx_text(browser.http.get(word_url).content)):
        flat = " ".join(text.split())
        assert "Highest risks: Staff turnover in August means that new teachers joining…" in flat, flat[:600]
        assert "5 January 2027" in flat and "2027-01-05" not in flat
        assert "Northfield Academy" in flat and not RAW_ID.search(flat)
    history = browser.http.get(base + "writeups/NPQSL/risk-assessment/history").text
    assert "Version 1<" in history and "Version 2<" not in history and "0 words" not in history

    # The action plan: the school is already there, and the statements are a checklist by area.
    plan = browser.http.get(base + "writeups/NPQSL/action-plan")
    assert 'name="m.school" maxlength="300" value="Northfield Academy"' in plan.text
    assert 'multiple size="5"' not in plan.text and 'type="checkbox"' in plan.text
    programme = _programme(app)
    longest = max(programme.statements.values(), key=lambda s: len(s.text))
    assert longest.text in html.unescape(plan.text)  # the full wording, never cut short
    for area in programme.areas:
        if area.statements:
            assert f"<legend>{area.number}. {html.escape(area.title)}</legend>" in plan.text
    row = _row(plan.text, "actions")
    chosen = ["NPQSL/school-culture/that-7", "NPQSL/implementation/that-4"]
    filled = {"f.plan.aim": "Improve reading fluency", "f.plan.sdp-priority": "Literacy",
              "f.plan.problem": "Slow reading", "f.plan.evidence": "Fluency tests",
              f"t.actions.{row}.action": "Train tutors", f"t.actions.{row}.owner": "Head of English",
              f"t.actions.{row}.start": "2027-01-10", f"t.actions.{row}.end": "2027-02-20",
              f"t.actions.{row}.success-criteria": "All tutors model fluency",
              f"t.actions.{row}.status": "On track", f"t.actions.{row}.statements": chosen}
    # Submitted with the aim left empty: refused, the summary links to the field, marked there.
    refused = browser.http.post(base + "writeups/NPQSL/action-plan",
                                data={**_form(plan.text), **filled, "f.plan.aim": "", "action": "submit"})
    assert refused.status_code == 400 and '<a href="#f-plan-aim">' in refused.text
    field = refused.text.split('id="f-plan-aim-error"')[1].split("</textarea>")[0]
    assert "is required" in field and 'aria-invalid="true"' in field
    assert refused.text.count('class="error-message"') == 1
    plan = browser.http.get(base + "writeups/NPQSL/action-plan")
    done = browser.http.post(base + "writeups/NPQSL/action-plan", data={**_form(plan.text), **filled,
                                                                          "action": "submit"})
    assert done.status_code == 200 and "Submitted: read-only" in done.text, done.text[-1500:]
    words = re.search(r"\(([\d,]+) words?\)", done.text).group(1)
    assert int(words.replace(",", "")) == 17  # every text field and table cell (not dates, choices, statements)
    shown = visible_text(done.text)
    for ref in chosen:  # shown by area and reference, with the wording as a tooltip
        statement = programme.statements[ref]
        assert f"{programme.area(statement.area_id).title} {statement.label}" in shown
    assert_plain(shown, "submitted action plan")
    assert "Draft saved" not in done.text.split("Submitted: read-only")[1]
    pdf_url, word_url = _exports(done.text, base)
    assert "export/" in pdf_url
    pdf = " ".join(_pdf_text(browser.http.get(pdf_url).content).split())
    assert "Submitted, attempt 1 (version 2)" in pdf and not RAW_ID.search(pdf)  # the refused try kept version 1
    assert programme.unit_label("NPQSL/school-culture/that-7") in pdf
    assert "10 January 2027" in pdf and "Northfield Academy" in pdf

    # The impact essay: the school is there too, and still editable.
    essay = browser.http.get(base + "writeups/NPQSL/impact-essay")
    assert 'value="Northfield Academy"' in essay.text
    again = browser.http.post(base + "writeups/NPQSL/impact-essay",
                              data={**_form(essay.text), "action": "save", "m.school": "Northfield Primary"})
    assert 'value="Northfield Primary"' in browser.http.get(again.url).text


def test_questions_and_course_pages_name_items_by_title(platform, app):
    ctx = "titles-" + re.sub(r"\W", "", platform.issuer)[-6:]
    asha = Browser()
    spec = learner(user_id="titles-asha", context_id=ctx, custom={"npq_item": "NPQSL/sc-reading"})
    page, base = _launch(platform, asha, spec)
    activity = _programme(app).activities["sc-reading"]
    # The "Ask your tutor" box: its label first, then the text box, then the button.
    box = page.text.split('class="ask-form"')[1].split("</form>")[0]
    assert box.index('<label for="question"') < box.index("<textarea") < box.index('<button type="submit"')
    asha.http.post(base + "questions", data={
        "csrf_token": csrf_token(page.text), "item_ref": activity.ref, "question": "Does this apply to primary?",
        "back": "/" + base.split("/", 3)[3] + "activities/NPQSL/sc-reading"})
    mine = asha.http.get(base + "questions").text
    link = f'href="/{base.split("/", 3)[3]}activities/NPQSL/sc-reading">{html.escape(activity.title)}</a>'
    assert link in mine, mine[-1500:]
    assert_plain(visible_text(mine), "my questions")

    tutor = Browser()
    home, tbase = _launch(platform, tutor, instructor(user_id="titles-tutor", context_id=ctx, custom=COURSE_HOME))
    assert_plain(visible_text(home.text), "tutor home")
    theirs = tutor.http.get(tbase + "questions").text
    assert f">{html.escape(activity.title)}</a>" in theirs and "Does this apply to primary?" in theirs
    assert_plain(visible_text(theirs), "tutor questions")
    # Deadlines and webinars name the zone.
    webinar = tutor.http.post(tbase + "schedule", data={
        "csrf_token": csrf_token(home.text), "action": "webinar", "title": "Culture webinar",
        "starts_at": "2027-07-01T18:00", "minutes": "60", "join_url": "https://meet.example.org/npq",
        "module_id": "school-culture"})
    assert webinar.status_code == 200, webinar.text[-600:]
    listing = asha.http.get(base + "webinars").text
    assert "Thursday 1 July 2027 at 6pm UTC" in listing  # the zone named (Asha's is not known yet)


def test_knowledge_check_feedback_never_repeats_the_verdict(app):
    """The page says "Correct." or "Not quite." before an option's feedback: the feedback itself
    must not start with a verdict ("Correct. Correct. ...")."""
    verdict = re.compile(r"^(correct|not quite|incorrect|right|wrong|yes|no)\s*[.!,:;–-]", re.I)
    with app.app_context():
        options = [(p.code, a.id, o.feedback) for p in catalogue().values() for a in p.activities.values()
                   for q in a.questions for o in q.options]
    assert options  # the shipped packs have knowledge checks
    assert [o for o in options if verdict.match(o[2].strip())] == []
