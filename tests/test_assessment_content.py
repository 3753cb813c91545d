"""The content of the summative assessment and the modules around it (issue #16, items 6-8): cases
of DfE's length and enough of them for retakes, word caps per NPQ, the induction and
assessment-preparation modules, and NPQLT's own rubrics."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lti_tool.assessment.models import AssessmentWindow
from lti_tool.assessment.pack import check_assessments
from lti_tool.assessment.service import unused_cases
from lti_tool.content import check_all

from .browser_support import ARTIFACTS, chromium_page
from .conftest import learner
from .test_assessment import _course, _open_window, _spec, _tutor

PACKS = Path(__file__).resolve().parent.parent / "lti_tool" / "content" / "packs"
SHOTS = ARTIFACTS / "content"
# DfE's word limits for the case-study reflection (its course pages, in ../shared/frameworks/other-npqs.yaml:
# "up to 2,500 words" for the leadership NPQs, NPQSL included; 1,500 for the specialist NPQs).
WORD_LIMITS = {"NPQH": 2500, "NPQEL": 2500, "NPQEYL": 2500, "NPQSL": 2500,
               "NPQLT": 1500, "NPQLTD": 1500, "NPQLBC": 1500, "NPQLL": 1500, "NPQLPM": 1500}
RAW_ID = re.compile(r"\bNPQ[A-Z]*/[a-z0-9-]+/(that|how)-\d+")


@pytest.fixture(scope="module")
def packs():
    programmes, problems = check_all(PACKS)
    assert problems == []
    configs, problems = check_assessments(PACKS)
    assert problems == []
    return programmes, configs


def _case_text(case) -> str:
    return " ".join([case.title, case.school, case.summary or ""] + [t for s in case.sections for t in s.texts()])


@pytest.mark.parametrize("code", ["NPQSL", "NPQLT"])
def test_four_cases_of_about_two_thousand_words(packs, code):
    programmes, configs = packs
    cfg = configs[code]
    assert len(cfg.cases) >= 4, "retakes over several windows must always meet a new case"
    for case in cfg.cases:
        assert 1700 <= case.word_count <= 2400, (case.id, case.word_count)
        assert {"text", "table", "document", "voices"} <= {s.type for s in case.sections}, case.id
        assert case.marker_notes and len(case.statements) >= 10, case.id
        # Statements from several areas: a case is diagnosed across the framework, not inside one area.
        assert len({s.split("/")[1] for s in case.statements}) >= 4, case.id
        assert all(s in programmes[code].statements for s in case.statements)
        assert not any("/high-expectations" in s for s in case.statements), case.id
        # What a participant reads: no IDs, and every document says it is fictional.
        assert not RAW_ID.search(_case_text(case)), case.id
        assert "(fictional)" in case.school
        assert all("not a real" in s.source for s in case.sections if s.type == "document"), case.id
    # England and international British schools both appear.
    schools = " ".join(c.school for c in cfg.cases)
    assert re.search(r"Dubai|Kuala Lumpur|Doha|Singapore", schools)


def test_a_retake_window_always_has_a_case_not_used_before(packs):
    programmes, configs = packs
    for cfg in configs.values():
        if programmes[cfg.programme].is_outline:
            continue  # an outline has no cases until the provider writes them
        windows: list[AssessmentWindow] = []
        for _ in range(4):
            free = unused_cases(cfg, windows)
            assert free, cfg.programme
            windows.append(AssessmentWindow(case_id=free[0].id))
        assert len({w.case_id for w in windows}) == 4


def test_word_caps_follow_dfe_limits_per_npq(packs):
    _, configs = packs
    assert configs["NPQSL"].word_cap == 2500 and configs["NPQLT"].word_cap == 1500
    for code, cfg in configs.items():
        if code in WORD_LIMITS:
            assert cfg.word_cap == WORD_LIMITS[code], code


@pytest.mark.parametrize("code,cap", [("NPQSL", "2,500"), ("NPQLT", "1,500")])
def test_induction_first_and_preparation_last(packs, code, cap):
    programmes, _ = packs
    modules = programmes[code].modules
    induction, preparation = modules[0], modules[-1]
    assert induction.purpose == "induction" and induction.area_id is None
    assert preparation.purpose == "preparation" and preparation.area_id is None
    assert all(m.purpose in (None, "bridging") for m in modules[1:-1])
    for module in (induction, preparation):
        assert module.counts_for_engagement and not module.counts_for_coverage

    induction_text = " ".join(p for a in induction.activities for p in a.body)
    for fact in ("webinar", "time zone", "90%", f"{cap} words", "ask your tutor", "later window",
                 "windows usually last about a week"):
        assert fact in induction_text, fact
    assert "eight days" not in induction_text.lower()

    kinds = {a.kind for a in preparation.activities}
    assert {"reading", "scenario", "practice", "knowledge_check"} <= kinds
    prep_text = " ".join(p for a in preparation.activities for p in a.body)
    assert f"{cap} words" in prep_text and "pass or fail" in prep_text
    assert prep_text.count("Marker's annotations") == 2  # a passing and a failing extract, annotated
    # Preparation practises implementation; nothing cites the framework by ID in what participants read.
    assert all(any("/implementation/" in s for s in a.develops) for a in preparation.activities)
    for module in (induction, preparation):
        for a in module.activities:
            assert not RAW_ID.search(" ".join(a.body + tuple(q.prompt for q in a.questions))), a.id


@pytest.mark.parametrize("code", ["NPQSL", "NPQLT"])
def test_new_knowledge_checks_spread_their_keys_and_never_say_correct_twice(packs, code):
    programmes, _ = packs
    checks = [a for m in (programmes[code].modules[0], programmes[code].modules[-1])
              for a in m.activities if a.kind == "knowledge_check"]
    positions, longest = [], 0
    for a in checks:
        for q in a.questions:
            if q.type != "choice":
                continue
            key = next(i for i, o in enumerate(q.options) if o.correct)
            positions.append(key)
            longest += len(q.options[key].text) == max(len(o.text) for o in q.options)
            for o in q.options:
                assert not o.feedback.startswith("Correct."), o.feedback
    assert len(set(positions)) == 3
    assert longest <= len(positions) // 4


def test_npqlt_rubrics_are_its_own(packs):
    programmes, _ = packs

    def descriptors(code):
        data = yaml.safe_load((PACKS / code.lower() / "rubrics.yaml").read_text())
        return [level["descriptor"] for r in data["rubrics"] for c in r["criteria"] for level in c["levels"]]

    lt, sl = descriptors("NPQLT"), descriptors("NPQSL")
    assert len(lt) == 60 and len(set(lt)) == 60
    assert not set(lt) & set(sl), "an NPQLT descriptor is copied from NPQSL"
    lt_prog = programmes["NPQLT"]
    for rubric in lt_prog.rubrics.values():
        for criterion in rubric.criteria:
            for sid in criterion.statements:
                assert sid in lt_prog.statements and "/high-expectations" not in sid
                assert not lt_prog.statements[sid].incomplete, sid


def test_shipped_packs_pass_content_check_with_four_cases(app):
    result = app.test_cli_runner().invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    assert "NPQSL: assessment NPQSL/case-study: 4 cases, word cap 2,500" in result.output
    assert "NPQLT: assessment NPQLT/case-study: 4 cases, word cap 1,500" in result.output


def test_case_page_and_induction_in_the_browser(platform):
    """Look at a new case beside the questions, and at the induction module, as a participant."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    _open_window(tutor, queue, case="kingsbridge-international")
    spec = _spec(platform, course, learner(user_id="p-kb", name="Mei Lin Tan", given_name="Mei Lin", family_name="Tan"))
    with chromium_page(viewport=(1366, 900)) as page:
        page.goto(platform.login_url(spec))
        page.get_by_role("heading", name="Kingsbridge British International School: predicted grades, a moving "
                                         "staff and anxious families").wait_for()
        assert page.get_by_role("heading", name="A moderation exercise in mathematics").is_visible()
        assert not RAW_ID.search(page.content())
        page.screenshot(path=str(SHOTS / "case-kingsbridge.png"))
    # An NPQLT case on a phone: its seven-column table scrolls inside the page, not the page sideways.
    course = _course(platform, ref="NPQLT/case-study")
    tutor, queue = _tutor(platform, course, user_id="t-lt")
    _open_window(tutor, queue, case="hartfield-english")
    spec = _spec(platform, course, learner(user_id="p-hf", name="Tom Ellis", given_name="Tom", family_name="Ellis"))
    with chromium_page(viewport=(360, 800)) as page:
        page.goto(platform.login_url(spec))
        page.get_by_role("heading", name="Year 10 outcomes").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
        page.get_by_role("heading", name="Year 10 outcomes").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "case-hartfield-phone.png"))
    for name, viewport in (("phone", (360, 800)), ("vle-frame", (768, 900))):
        with chromium_page(viewport=viewport) as page:
            page.goto(platform.login_url(learner(user_id="p-ind", custom={"npq_item": "NPQSL/ind-how-it-runs"})))
            page.wait_for_url("**/activities/NPQSL/ind-how-it-runs")
            page.get_by_role("heading", name="How the programme runs online").wait_for()
            html = page.content()
            assert "This activity develops" not in html  # develops no statement: no empty panel
            assert not RAW_ID.search(html)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0
            page.screenshot(path=str(SHOTS / f"induction-{name}.png"), full_page=True)


def test_bridging_material_counts_towards_neither_engagement_nor_coverage(packs):
    programmes, configs = packs
    npqlt = programmes["NPQLT"]
    bridging = [a.id for m in npqlt.modules if m.purpose == "bridging" for a in m.activities]
    assert bridging, "NPQLT keeps its Early Career Framework background as a bridging module"
    assert not set(bridging) & set(configs["NPQLT"].engagement.activities)
    induction = [a.id for m in npqlt.modules if m.purpose == "induction" for a in m.activities if a.required]
    assert set(induction) <= set(configs["NPQLT"].engagement.activities)
