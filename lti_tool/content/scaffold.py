"""`flask content new-programme CODE`: a valid, commented pack skeleton for any of the ten NPQs,
written from the facts table (npqs.yaml) for a provider's learning designers to fill in.

The skeleton is an outline (status: outline): identity and assessment facts with their sources,
no framework areas yet, an induction and an assessment-preparation module, and the case-study
settings without cases. It passes `flask content check` as written."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

from ..assessment.schedules import word_cap_for
from .outline import TO_BE_CONFIRMED, facts_table, source_urls



class ScaffoldError(Exception):
    """The skeleton cannot be written as asked; the message says why."""


def q(value) -> str:
    """A YAML scalar: double-quoted text (JSON is valid YAML), numbers as they are."""
    return str(value) if isinstance(value, int) else json.dumps(value, ensure_ascii=False)


def known(value) -> bool:
    return value not in (None, TO_BE_CONFIRMED)


def facts_of(code: str) -> dict:
    row = facts_table().get(code.upper())
    if row is None:
        raise ScaffoldError(f"{code!r} is not one of the ten NPQs: {', '.join(sorted(facts_table()))}")
    return row


def _sources(row: dict) -> list[str]:
    urls = source_urls()
    out = []
    for s in row["sources"]:
        key = s.split(" ", 1)[0]
        out.append(f"{s}: {urls[key]}" if key in urls else s)
    return out


def programme_yaml(row: dict) -> str:
    lines = [
        f"# {row['title']} ({row['code']}): programme identity and facts.",
        "# Written by `flask content new-programme` from the tool's facts table (lti_tool/content/npqs.yaml).",
        "# Every fact names its source; \"to be confirmed\" means it was not found: confirm it against",
        "# DfE's published material before participants read it.",
        f"code: {row['code']}                     # upper case; the first part of every statement ID",
        f"title: {q(row['title'])}",
        f"short_title: {q(row['short_title'])}   # shown in breadcrumbs and page titles",
        f"kind: {q(row['kind'])}                 # leadership | specialist (decides DfE's declaration rules)",
        "# outline: no framework text yet (catalogue and content check say so). When framework.yaml has",
        "# the areas and statements and modules.yaml the framework modules, change this to complete.",
        "status: outline",
        "facts:",
        f"  course_identifier: {row['course_identifier']}   # DfE's course identifier (npq-registration)",
        f"  audience: {q(row['audience'])}",
        f"  duration: {q(row['duration'])}",
        f"  weekly_study: {q(row['weekly_study'])}",
        f"  assessment: {q(row['assessment'])}",
        f"  word_limit: {q(row['word_limit'])}         # the case-study word limit (assessment.yaml word_cap)",
    ]
    topics = row.get("topics")
    if topics:
        lines += ["  topics:                     # what the course covers as DfE's course page or a provider words it:",
                  "                              # NOT the framework's area titles, never shown as DfE wording",
                  f"    count: {q(topics['count'])}",
                  f"    source: {q(topics['source'])}",
                  "    items: [" + ", ".join(q(t) for t in topics.get("items", [])) + "]"]
        if topics.get("note"):
            lines.append(f"    note: {q(topics['note'])}")
    lines.append("  sources:")
    lines += [f"    - {q(s)}" for s in _sources(row)]
    return "\n".join(lines) + "\n"


def framework_yaml(row: dict) -> str:
    hint = ""
    topics = row.get("topics") or {}
    if topics.get("items"):
        hint = ("# Topics named so far (" + topics["source"] + "), a guide only, not area titles:\n"
                + "".join(f"#   - {t}\n" for t in topics["items"]))
    return f"""# {row['code']} framework: DfE's areas with their numbered "Learn that" statements and their
# "Learn how to" statements and bullets, copied word for word from DfE's framework document.
# Awaiting the provider's framework text: until then the list is empty and the pack is an outline.
# Never write a statement from memory or from another NPQ's framework: copy it, and note its source.
{hint}#
# The format (see docs/programme-packs.md):
#   - id: school-culture          # lower-case slug, stable: part of every statement ID
#     number: 1                   # DfE's order
#     title: "School Culture"     # DfE's area title
#     learn_that:
#       - n: 1                    # DfE's number
#         text: "..."             # DfE's wording exactly
#     learn_how:
#       - n: 1
#         text: "... by:"
#         bullets:
#           - text: "..."
areas: []
"""


def _activity(aid: str, kind: str, title: str, minutes: int, body: list[str], questions: list[tuple]) -> str:
    out = [f"      - id: {aid}", f"        kind: {kind}", f"        title: {q(title)}",
           f"        minutes: {minutes}", "        develops: []       # induction and preparation develop no statements",
           "        body:"]
    out += [f"          - {q(p)}" for p in body]
    out.append("        questions:")
    for qid, prompt, guidance in questions:
        out += [f"          - id: {qid}", "            type: text", f"            prompt: {q(prompt)}"]
        if guidance:
            out.append(f"            guidance: {q(guidance)}")
    return "\n".join(out)


def _study_sentence(row: dict) -> str:
    if known(row["duration"]) and known(row["weekly_study"]):
        return (f"The programme runs for {row['duration']}, with about {row['weekly_study']} of study a week "
                "alongside your role.")
    return "Your provider confirms how long the programme runs and how much study it expects each week."


def is_case_study(row: dict) -> bool:
    """DfE's course page names a case study (NPQLPM's says only "a written assessment")."""
    return "case study" in row["assessment"]


def _assessment_sentence(row: dict) -> str:
    if not known(row["word_limit"]):
        return "Your provider confirms the form of the summative assessment, its word limit and its window."
    if not is_case_study(row):
        return (f"The programme ends with DfE's written assessment, of up to {row['word_limit']:,} words; your "
                "provider confirms its form and the window in which you write it.")
    return (f"The programme ends with DfE's summative assessment: a written response to a case study of a "
            f"fictional setting, up to {row['word_limit']:,} words, written within a window your provider confirms.")


def modules_yaml(row: dict) -> str:
    induction = _activity(
        "induction-how-it-runs", "reading", "How this programme runs", 15,
        [_study_sentence(row),
         "Each module opens for a set window. Its activities are a reading, a scenario, a practice task and a "
         "knowledge check; your progress is saved as you go and you can return to a draft at any time.",
         "To be eligible for the qualification you must engage with at least 90% of the programme's required "
         "activities, sessions and write-ups. Your engagement page shows where you stand.",
         _assessment_sentence(row)],
        [("q1", "What do you most want to be able to do differently in your role by the end of the programme?",
          "Name one specific change and who would notice it.")])
    preparation = _activity(
        "preparation-how-it-works", "reading", "How the case-study assessment works", 20,
        [_assessment_sentence(row),
         "The case sets out a fictional setting's data, documents and the views of staff, pupils or families. "
         "You identify the central problem, propose solutions with a rationale, and explain how you would "
         "implement them, applying the programme's framework.",
         "Answers are marked pass or fail, taken as a whole. A participant who does not pass retakes the "
         "assessment in a later window with a new case."],
        [("q1", "Which part of the assessment do you expect to find hardest, and how will you prepare for it?", None)])
    return f"""# {row['code']} modules. Framework modules (one per area, each with an "area:") come with the framework
# text; an outline starts with the induction and the assessment-preparation modules, which count
# towards engagement but not towards framework coverage. The text below is a starting point in the
# provider's own words: rewrite it for your participants. Each activity: id (slug, unique in the
# programme), kind (reading | scenario | practice | knowledge_check), title, minutes, develops
# (statement IDs; empty outside framework modules), body (paragraphs), questions (text, or choice
# in a knowledge check). See docs/programme-packs.md.
modules:
  - id: induction
    purpose: induction
    title: "Welcome to the programme"
    summary: "How the programme runs online, the engagement it asks of you, and the assessment at the end."
    days: 7
    activities:
{induction}
  - id: preparing-for-assessment
    purpose: preparation
    title: "Preparing for the assessment"
    summary: "What the case-study assessment asks, how it is marked, and how to prepare."
    days: 14
    activities:
{preparation}
"""


def assessment_yaml(row: dict) -> Optional[str]:
    """The case-study settings; None while the NPQ's assessment facts are to be confirmed."""
    if not known(row["word_limit"]):
        return None
    summary = ("The summative assessment: a written response to a case study of a fictional setting, marked pass or fail."
               if is_case_study(row) else "The summative written assessment, marked pass or fail.")
    form = ("" if is_case_study(row) else f"# DfE's course page says: {row['assessment']}. The tool runs it as a case study; "
            "confirm the form before\n# participants read it.\n")
    return f"""# {row['code']} summative assessment and engagement (format: lti_tool/assessment/README.md).
# An outline has no cases yet: add at least four (about 2,000 words each, fictional settings) with
# the framework text, so that retakes over several windows always meet a new case.
{form}id: case-study
title: "Case-study assessment"
summary: {q(summary)}
course_identifier: {row['course_identifier']}
word_cap: {word_cap_for(row['kind'])}            # the tool's limit for this NPQ; DfE's course page: {row['assessment']} (source: {row['sources'][0]})
window_days: 8            # the provider's window, to be confirmed by the provider before it is shown
questions:
  - id: problem
    prompt: "Identify the problem"
    guidance: "Using the data, the documents and the voices in the case, say what you judge the central problem to be and what evidence shows it."
  - id: solutions
    prompt: "Propose solutions with a rationale"
    guidance: "Set out what you would change, in priority order, and why it is likely to work in this setting, applying the programme's framework."
  - id: implementation
    prompt: "Explain how to implement and why"
    guidance: "Explain how you would put the changes into practice with colleagues, how you would check they are working, and why."
marking:
  pass: "Pass. Taken as a whole, the response identifies a plausible central problem from the evidence in the case, proposes changes that follow from it with a rationale that applies the framework, and explains a realistic implementation."
  fail: "Fail. The problem is misread or only its symptoms are listed, the solutions do not follow from the diagnosis, or the framework is named but not applied. The justification says which, and what a passing answer would have done."
  pass_sample_rate: 0.2   # share of passes second-marked (every fail always is)
engagement:               # DfE's declarations follow from the NPQ's kind and the course's schedule
  threshold: 90
  required:
    activities: all
"""


def render(code: str) -> dict[str, str]:
    """The skeleton's files by name."""
    row = facts_of(code)
    files = {"programme.yaml": programme_yaml(row), "framework.yaml": framework_yaml(row),
             "modules.yaml": modules_yaml(row)}
    assessment = assessment_yaml(row)
    if assessment:
        files["assessment.yaml"] = assessment
    return files


def write(code: str, out_dir: Path, force: bool = False) -> Path:
    """Write the skeleton into out_dir/<folder>; refuses to replace a folder unless force."""
    row = facts_of(code)
    folder = Path(out_dir) / row["folder"]
    if folder.exists():
        if not force:
            raise ScaffoldError(f"{folder} already exists: choose another folder with --out, or replace it with --force")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, text in render(code).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
