"""All ten NPQs on the catalogue: outline packs, their facts, the new-programme scaffold, and
outline programmes launched, picked and shown end to end through an independent platform."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
import yaml

from lti_tool.assessment.pack import check_assessment
from lti_tool.content import check_all, check_pack
from lti_tool.content.outline import facts_table
from lti_tool.content.scaffold import render

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner

PACKS = Path(__file__).resolve().parent.parent / "lti_tool" / "content" / "packs"
OUTLINES = ["NPQH", "NPQEL", "NPQEYL", "NPQSENCO", "NPQLTD", "NPQLBC", "NPQLL", "NPQLPM"]
ALL_TEN = OUTLINES + ["NPQSL", "NPQLT"]
BADGE = "Outline — framework text to come"


def visible_text(page: str) -> str:
    """What a person reads: the page without scripts, tags and attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture(scope="module")
def programmes():
    progs, problems = check_all(PACKS)
    assert problems == []
    return progs


def test_the_facts_table_holds_the_ten_npqs():
    table = facts_table()
    assert sorted(table) == sorted(ALL_TEN)
    assert {c for c, row in table.items() if row["status"] == "outline"} == set(OUTLINES)
    senco = table["NPQSENCO"]
    assert senco["kind"] == senco["duration"] == senco["word_limit"] == "to be confirmed"
    assert table["NPQLTD"]["course_identifier"] == "npq-leading-teaching-development"
    assert {table[c]["word_limit"] for c in ("NPQH", "NPQEL", "NPQEYL")} == {2500}
    assert {table[c]["word_limit"] for c in ("NPQLTD", "NPQLBC", "NPQLL", "NPQLPM")} == {1500}
    for row in table.values():
        assert row["sources"], row["code"]


@pytest.mark.parametrize("code", OUTLINES)
def test_each_outline_pack_passes_the_check_with_the_tables_facts(programmes, code):
    row = facts_table()[code]
    programme, problems = check_pack(PACKS / row["folder"])
    assert problems == [] and programme.is_outline
    assert programme.title == row["title"] and programme.kind == row["kind"]
    facts = programme.facts
    for name in ("course_identifier", "audience", "duration", "weekly_study", "assessment", "word_limit"):
        assert getattr(facts, name) == row[name], name
    assert programme.areas == () and programme.statements == {}  # no invented statements
    assert [(m.id, m.purpose) for m in programme.modules] == [("induction", "induction"),
                                                            ("preparing-for-assessment", "preparation")]
    for module in programme.modules:
        assert module.counts_for_engagement and not module.counts_for_coverage
        assert all(a.develops == () for a in module.activities)
    config, problems = check_assessment(PACKS / row["folder"], programme)
    assert problems == []
    if row["word_limit"] == "to be confirmed":
        assert config is None  # NPQSENCO: no assessment until its facts are confirmed
    else:
        assert config.word_cap == row["word_limit"] and config.course_identifier == row["course_identifier"]
        assert config.cases == () and config.engagement.total == 4
        assert ("retained-2" in config.declaration_types) == (row["kind"] == "leadership")


def test_content_check_marks_each_outline(app):
    result = app.test_cli_runner().invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    for code in OUTLINES:
        assert f"{code}: outline awaiting the provider's framework text" in result.output
    assert "NPQSL: outline" not in result.output and "All packs are valid." in result.output


def _broken(tmp_path, folder: str, file: str, old: str, new: str) -> Path:
    shutil.copytree(PACKS / folder, tmp_path / folder)
    path = tmp_path / folder / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return tmp_path / folder


def test_only_an_outline_may_leave_out_areas_kind_and_cases(tmp_path):
    _, problems = check_pack(_broken(tmp_path / "a", "npqh", "programme.yaml", "status: outline", "status: complete"))
    assert any("a framework needs areas" in str(p) for p in problems)
    _, problems = check_pack(_broken(tmp_path / "b", "npqsenco", "programme.yaml", "status: outline", "status: complete"))
    assert any("kind to be confirmed" in str(p) for p in problems)
    folder = _broken(tmp_path / "c", "npqsl", "assessment.yaml", "\ncases:", "\nretired_cases:")
    text = (folder / "assessment.yaml").read_text()
    (folder / "assessment.yaml").write_text(text[:text.index("\nretired_cases:")] + "\n" + text[text.index("\nengagement:"):])
    programme, _ = check_pack(folder)
    _, problems = check_assessment(folder, programme)
    assert any("cases are needed" in str(p) for p in problems)


@pytest.mark.parametrize("code", ALL_TEN)
def test_new_programme_writes_a_skeleton_that_passes_the_check(app, tmp_path, code):
    runner = app.test_cli_runner()
    out = tmp_path / "packs"
    result = runner.invoke(args=["content", "new-programme", code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    folder = out / facts_table()[code]["folder"]
    programme_text = (folder / "programme.yaml").read_text()
    assert programme_text.startswith("#") and "status: outline" in programme_text  # commented for designers
    assert yaml.safe_load(programme_text)["facts"]["course_identifier"] == facts_table()[code]["course_identifier"]
    check = runner.invoke(args=["content", "check", str(out)])
    assert check.exit_code == 0, check.output
    assert f"{code}: outline awaiting the provider's framework text" in check.output

    again = runner.invoke(args=["content", "new-programme", code, "--out", str(out)])
    assert again.exit_code != 0 and "already exists" in again.output and "--force" in again.output
    (folder / "notes.txt").write_text("kept unless forced")
    assert (folder / "notes.txt").exists()
    forced = runner.invoke(args=["content", "new-programme", code.lower(), "--out", str(out), "--force"])
    assert forced.exit_code == 0 and not (folder / "notes.txt").exists()


def test_new_programme_refuses_an_unknown_code_and_defaults_to_the_packs_folder(app, tmp_path, monkeypatch):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["content", "new-programme", "NPQXYZ", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "not one of the ten NPQs" in bad.output
    monkeypatch.setitem(app.config, "CONTENT_PACKS_DIR", str(tmp_path / "provider-packs"))
    made = runner.invoke(args=["content", "new-programme", "NPQLL"])
    assert made.exit_code == 0 and (tmp_path / "provider-packs" / "npqll" / "modules.yaml").exists()


def test_scaffold_and_shipped_outline_share_the_facts():
    for code in OUTLINES:
        folder = PACKS / facts_table()[code]["folder"]
        assert yaml.safe_load(render(code)["programme.yaml"]) == yaml.safe_load((folder / "programme.yaml").read_text())


# -- end to end: launches, pages and the picker ----------------------------------------------

def _no_internal_words(page: str, code: str) -> None:
    text = visible_text(page)
    for word in ("incomplete in source", "our copy", f"{code}/", "to be confirmed ", "npq-"):
        assert word not in text, word


def test_participant_launch_into_an_outline_induction_activity(platform, browser):
    spec = learner(context_title="NPQH Cohort 1", custom={"npq_item": "NPQH/induction-how-it-runs"})
    page = browser.launch(platform, spec)
    assert page.status_code == 200 and page.url.endswith("/activities/NPQH/induction-how-it-runs")
    text = visible_text(page.text)
    assert "How this programme runs" in text and "18 months" in text and "2,500 words" in text
    assert "framework statement" not in text  # an induction activity develops none
    _no_internal_words(page.text, "NPQH")

    done = browser.http.post(page.url, data={"csrf_token": csrf_token(page.text), "action": "submit", "version": "0",
                                             "answer-expectations": "Lead a school where every pupil reads fluently."})
    assert done.status_code == 200 and "You submitted this on" in done.text

    home = browser.http.get(re.sub(r"/activities/.*", "/programme", page.url))
    assert home.status_code == 200
    text = visible_text(home.text)
    assert BADGE in text and "Welcome to the programme" in text and "Preparing for the assessment" in text
    assert "Governance and accountability" in text  # a topic, named as such
    assert "1 of 4" in text and "statements covered" not in text
    assert "Case study assessment" in text
    _no_internal_words(home.text, "NPQH")
    response = browser.http.get(re.sub(r"/activities/.*", "/assessment/NPQH", page.url))
    assert response.status_code == 200 and "has not been released yet" in response.text
    engagement = browser.http.get(re.sub(r"/activities/.*", "/assessment/NPQH/engagement", page.url))
    assert engagement.status_code == 200
    _no_internal_words(engagement.text, "NPQH")


def test_outline_without_an_assessment_has_no_assessment_section(platform, browser):
    page = browser.launch(platform, learner(custom={"npq_programme": "NPQSENCO"}))
    home = browser.http.get(re.sub(r"/s/([^/]+)/.*", r"/s/\1/programme", page.url))
    assert home.status_code == 200
    text = visible_text(home.text)
    assert BADGE in text and "Case study assessment" not in text
    _no_internal_words(home.text, "NPQSENCO")


def test_tutor_sees_outline_coverage_and_assessment_queue(platform):
    tutor = Browser()
    page = tutor.launch(platform, instructor(custom={"npq_programme": "NPQLL"}, resource_link_id="course-home"))
    assert page.status_code == 200 and BADGE in visible_text(page.text)
    coverage = tutor.http.get(page.url + "coverage")
    assert coverage.status_code == 200
    text = visible_text(coverage.text)
    assert BADGE in text and "no framework statements yet" in text and "Developing Reading" in text
    assert "Every statement is developed" not in text
    for path in ("dashboard", "schedule", "assessment/NPQLL/engagement", "assessment/NPQLL/outcomes"):
        assert tutor.http.get(page.url + path).status_code == 200, path
    queue = tutor.http.get(page.url + "assessment/NPQLL/marking")
    assert queue.status_code == 200 and "no cases yet" in queue.text
    tried = tutor.http.post(page.url + "assessment/NPQLL/marking/windows",
                            data={"csrf_token": csrf_token(queue.text), "case": ""})
    assert tried.status_code == 400 and "no cases yet" in tried.text


def test_picker_lists_ten_programmes_with_outlines_marked(platform, browser):
    spec = instructor(resource_link_id=None, custom={})
    spec.deep_link_return_url = platform.issuer + "/deep-link-return"
    picker = browser.launch(platform, spec)
    assert picker.status_code == 200
    options = re.findall(r'<option value="([A-Z0-9]+)"[^>]*>([^<]*)</option>', picker.text)
    assert sorted(c for c, _ in options) == sorted(ALL_TEN)
    outlined = {c for c, label in options if "(outline — framework text to come)" in label}
    assert outlined == set(OUTLINES)
    assert re.search(r'<option value="NPQ(SL|LT)" selected', picker.text)  # a complete programme first

    outline = browser.http.get(picker.url, params={"programme": "NPQEYL"})
    text = visible_text(outline.text)
    assert BADGE in text and "How this programme runs" in text and "Develops:" not in text
    ret = browser.http.post(picker.url, data={"csrf_token": csrf_token(outline.text), "programme": "NPQEYL",
                                              "item": ["NPQEYL/induction-how-it-runs", "NPQEYL/case-study"]})
    assert ret.status_code == 200
    done = browser.http.post(forms(ret.text)[0].action, data=forms(ret.text)[0].fields)
    assert done.status_code == 200 and "received 2 items" in done.text


# -- what the pages look like on a phone and in a VLE frame -----------------------------------

@pytest.mark.parametrize("width", [360, 768])
def test_outline_pages_fit_a_phone_and_a_vle_frame(platform, width):
    from .browser_support import ARTIFACTS, chromium_page

    with chromium_page(viewport=(width, 900)) as page:
        page.goto(platform.login_url(learner(custom={"npq_programme": "NPQLBC"})))
        page.wait_for_url(re.compile(r".*/s/[^/]+/.*"))
        page.goto(re.sub(r"(/s/[^/]+/).*", r"\1programme", page.url))
        page.get_by_role("heading", name=re.compile("Outline")).wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"outline-programme-{width}.png"), full_page=True)

        spec = instructor(resource_link_id=None, custom={})
        spec.deep_link_return_url = platform.issuer + "/deep-link-return"
        page.goto(platform.login_url(spec))
        page.wait_for_url("**/pick")
        page.select_option("#programme", "NPQH")
        page.get_by_role("button", name="Show").click()
        page.get_by_role("heading", name=re.compile("Outline")).wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"outline-picker-{width}.png"), full_page=True)
