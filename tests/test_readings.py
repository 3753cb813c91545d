"""Evidence-informed readings: every reading names its evidence, every cited reference exists, the
reference list opens from the reading page, and no reading apologises for the framework copy."""
from __future__ import annotations

import re
import shutil

import pytest

from lti_tool.content import check_all, check_pack

from .conftest import learner
from .test_content import PACKS

NOTES_ABOUT_OUR_COPY = ("our copy", "own copy", "check the full wording", "not the framework's own wording",
                        "not the framework's wording", "incomplete in source", "cut off")


@pytest.fixture(scope="module")
def programmes():
    progs, problems = check_all(PACKS)
    assert problems == []
    return progs


def _framework_readings(programme):
    return [a for m in programme.modules if m.counts_for_coverage for a in m.activities if a.kind == "reading"]


@pytest.mark.parametrize("code", ["NPQSL", "NPQLT"])
def test_every_reading_cites_references_that_exist(programmes, code):
    programme = programmes[code]
    readings = _framework_readings(programme)
    assert len(readings) >= 8
    for activity in readings:
        assert activity.evidence, f"{activity.id} cites no evidence"
        for slug in activity.evidence:
            reference = programme.references[slug]
            assert reference.authors and reference.title and reference.publisher and 1900 < reference.year < 2100
            assert reference.verified.startswith("http"), f"{slug}: how it was verified is not recorded"
    cited = {slug for a in programme.activities.values() for slug in a.evidence}
    assert cited == set(programme.references), "references.yaml lists works no activity cites"


@pytest.mark.parametrize("code", ["NPQSL", "NPQLT"])
def test_no_participant_text_talks_about_our_copy(programmes, code):
    for activity in programmes[code].activities.values():
        texts = list(activity.body) + [q.prompt for q in activity.questions]
        texts += [o.text + " " + o.feedback for q in activity.questions for o in q.options]
        for text in texts:
            lowered = text.lower()
            assert not any(note in lowered for note in NOTES_ABOUT_OUR_COPY), f"{activity.id}: {text[:120]}"


def test_unknown_reference_is_named_by_the_check(tmp_path):
    shutil.copytree(PACKS / "npqsl", tmp_path / "npqsl")
    modules = tmp_path / "npqsl" / "modules.yaml"
    modules.write_text(modules.read_text().replace("evidence: [eef-behaviour-2019]", "evidence: [no-such-work-2020]", 1))
    programme, problems = check_pack(tmp_path / "npqsl")
    assert programme is None
    assert any("no reference 'no-such-work-2020' in references.yaml" in str(p) and p.line for p in problems)


def test_reading_page_lists_its_references(platform, browser, programmes):
    page = browser.launch(platform, learner(custom={"npq_item": "NPQSL/be-reading"}))
    assert page.status_code == 200
    section = re.search(r'<details class="panel references" id="references">(.*?)</details>', page.text, re.S)
    assert section, "no References disclosure on the reading"
    assert "References (1)" in section.group(1)
    assert "Rhodes, I. and Long, M. (2019). <cite>Improving Behaviour in Schools: Guidance Report</cite>. " \
           "Education Endowment Foundation." in section.group(1)
    assert "Improving Behaviour in Schools (Rhodes and Long, 2019)" in page.text  # the body names it too
    assert "verified" not in section.group(1).lower()  # how a citation was checked stays with the pack
