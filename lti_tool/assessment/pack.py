"""A programme's assessment.yaml: the case-study assessment (questions, cases, marking guidance,
word cap, window length, second-marking sample) and the engagement rules (what counts as required,
the threshold). DfE's declarations follow from the programme's kind (schedules.py). Read, checked
against schema.json and against the programme's own pack (statement, activity and write-up IDs
must exist), and reported like the rest of the pack."""
from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml
from jsonschema import Draft202012Validator

from ..content.loader import Problem, _line_of, _path_text, check_pack, pack_folders
from ..content.reload import read_by_stamp
from ..content.model import Programme
from .schedules import declaration_types, word_cap_for

log = logging.getLogger(__name__)

FILE = "assessment.yaml"
SCHEMA = json.loads((Path(__file__).parent / "schema.json").read_text())
QUESTION_TEXT_LIMIT = 40000  # characters per answer: far above any cap, stops abuse
_WORD = re.compile(r"\S+")


def words(text: str) -> int:
    return len(_WORD.findall(text or ""))


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str
    guidance: Optional[str] = None


@dataclass(frozen=True)
class CaseSection:
    type: str  # text | table | document | voices
    title: str
    paragraphs: tuple[str, ...] = ()
    intro: Optional[str] = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    note: Optional[str] = None
    source: Optional[str] = None
    voices: tuple[tuple[str, str], ...] = ()  # (who, what they said)

    def texts(self) -> list[str]:
        out = [self.title, *self.paragraphs, self.intro or "", self.note or "", self.source or "", *self.columns]
        out += [cell for row in self.rows for cell in row]
        out += [f"{who} {text}" for who, text in self.voices]
        return out


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    school: str
    summary: Optional[str]
    statements: tuple[str, ...]
    marker_notes: Optional[str]
    sections: tuple[CaseSection, ...]

    @property
    def word_count(self) -> int:
        return sum(words(t) for s in self.sections for t in s.texts()) + words(self.summary or "")


@dataclass(frozen=True)
class Session:
    """A live session the pack requires (face-to-face or online), attendance recorded by a tutor."""

    id: str
    title: str


@dataclass(frozen=True)
class Engagement:
    threshold: float
    activities: tuple[str, ...]  # activity ids (resolved from "all")
    writeups: tuple[str, ...]
    webinars: int  # how many of the course's webinars (scheduled in the tool) count, each attended
    sessions: tuple[Session, ...]

    @property
    def total(self) -> int:
        return len(self.activities) + len(self.writeups) + self.webinars + len(self.sessions)

    def session(self, session_id: str) -> Optional[Session]:
        return next((e for e in self.sessions if e.id == session_id), None)


@dataclass(frozen=True)
class AssessmentConfig:
    programme: str
    id: str
    title: str
    summary: str
    course_identifier: str
    kind: str  # leadership | specialist: which DfE declarations and schedules apply
    word_cap: int
    window_days: int
    questions: tuple[Question, ...]
    pass_descriptor: str
    fail_descriptor: str
    pass_sample_rate: float
    statements: tuple[str, ...]  # what any answer may apply, beyond each case's own list
    cases: tuple[Case, ...]
    engagement: Engagement

    @property
    def ref(self) -> str:
        return f"{self.programme}/{self.id}"

    @property
    def declaration_types(self) -> tuple[str, ...]:
        """DfE's declaration types for this kind of NPQ (retained-2 for leadership NPQs only)."""
        return declaration_types(self.kind)

    def case(self, case_id: str) -> Optional[Case]:
        return next((c for c in self.cases if c.id == case_id), None)

    def guidance_statements(self, case: Optional[Case]) -> list[str]:
        """The statements an answer to this case may apply: the case's own first."""
        return list(dict.fromkeys([*(case.statements if case else ()), *self.statements]))


def _validator() -> Draft202012Validator:
    return Draft202012Validator(SCHEMA)


def _cell(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _build(data: dict, programme: Programme) -> AssessmentConfig:
    required = data["engagement"].get("required", {})
    acts = required.get("activities", [])
    if acts == "all":  # bridging material is optional background: it never counts
        acts = [a.id for m in programme.modules if m.counts_for_engagement for a in m.activities if a.required]
    cases = []
    for c in data.get("cases", []):  # an outline pack may have none yet
        sections = []
        for s in c["sections"]:
            sections.append(CaseSection(
                type=s["type"], title=s["title"], paragraphs=tuple(s.get("paragraphs", [])), intro=s.get("intro"),
                columns=tuple(s.get("columns", [])), rows=tuple(tuple(_cell(v) for v in r) for r in s.get("rows", [])),
                note=s.get("note"), source=s.get("source"),
                voices=tuple((v["who"], v["text"]) for v in s.get("items", []))))
        cases.append(Case(id=c["id"], title=c["title"], school=c["school"], summary=c.get("summary"),
                          statements=tuple(c["statements"]), marker_notes=c.get("marker_notes"),
                          sections=tuple(sections)))
    eng = data["engagement"]
    return AssessmentConfig(
        programme=programme.code, id=data["id"], title=data["title"], summary=data.get("summary", ""),
        course_identifier=data["course_identifier"], kind=programme.kind,
        # The pack may set its own; otherwise DfE's limit for this kind of NPQ (schedules.WORD_CAP_BY_KIND).
        word_cap=int(data.get("word_cap") or word_cap_for(programme.kind)),
        window_days=int(data["window_days"]),
        questions=tuple(Question(q["id"], q["prompt"], q.get("guidance")) for q in data["questions"]),
        pass_descriptor=data["marking"]["pass"], fail_descriptor=data["marking"]["fail"],
        pass_sample_rate=float(data["marking"]["pass_sample_rate"]),
        statements=tuple(data["marking"].get("statements", [])), cases=tuple(cases),
        engagement=Engagement(
            threshold=float(eng["threshold"]), activities=tuple(acts), writeups=tuple(required.get("writeups", [])),
            webinars=int(required.get("webinars", 0)),
            sessions=tuple(Session(e["id"], e["title"]) for e in required.get("sessions", []))),
    )


def check_assessment(folder: Path, programme: Optional[Programme] = None
                     ) -> tuple[Optional[AssessmentConfig], list[Problem]]:
    """Check one pack's assessment.yaml. (None, []) when the pack has none. The programme is the
    pack's own (checked by the content loader); without it, only the schema is checked."""
    folder = Path(folder)
    path = folder / FILE
    if not path.exists():
        return None, []
    rel = f"{folder.name}/{FILE}"
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(rel, mark.line + 1 if mark else None, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    problems: list[Problem] = []

    def problem(path_: list, message: str) -> None:
        problems.append(Problem(rel, _line_of(node, path_), _path_text(path_), message))

    for error in sorted(_validator().iter_errors(data), key=lambda e: list(e.path)):
        problem(list(error.absolute_path), error.message)
    if problems or programme is None:
        return None, problems

    item_ids = set(programme.activities) | set(programme.templates)
    if data["id"] in item_ids:
        problem(["id"], f"id {data['id']!r} is also an activity or write-up id")
    seen: set[str] = set()
    for i, q in enumerate(data["questions"]):
        if q["id"] in seen:
            problem(["questions", i, "id"], f"question id {q['id']!r} is used twice")
        seen.add(q["id"])
    refs = [(["marking", "statements", i], r) for i, r in enumerate(data["marking"].get("statements", []))]
    seen = set()
    if "cases" not in data and not programme.is_outline:
        problem(["cases"], "cases are needed (only an outline pack may leave them out until its framework text comes)")
    for ci, case in enumerate(data.get("cases", [])):
        if case["id"] in seen:
            problem(["cases", ci, "id"], f"case id {case['id']!r} is used twice")
        seen.add(case["id"])
        refs += [(["cases", ci, "statements", i], r) for i, r in enumerate(case["statements"])]
        for si, sec in enumerate(case["sections"]):
            if sec["type"] == "table":
                width = len(sec["columns"])
                for ri, row in enumerate(sec["rows"]):
                    if len(row) != width:
                        problem(["cases", ci, "sections", si, "rows", ri],
                                f"the row has {len(row)} cells; the table has {width} columns")
    for where, ref in refs:
        if ref not in programme.statements:
            problem(where, f"no statement {ref!r} in the framework")
    required = data["engagement"].get("required", {})
    if isinstance(required.get("activities"), list):
        for i, a in enumerate(required["activities"]):
            if a not in programme.activities:
                problem(["engagement", "required", "activities", i], f"no activity {a!r} in modules.yaml")
    for i, w in enumerate(required.get("writeups", [])):
        if w not in programme.templates:
            problem(["engagement", "required", "writeups", i], f"no write-up template {w!r} in writeups.yaml")
    seen = set()
    for i, e in enumerate(required.get("sessions", [])):
        if e["id"] in seen:
            problem(["engagement", "required", "sessions", i, "id"], f"session id {e['id']!r} is used twice")
        seen.add(e["id"])
    if problems:
        return None, problems
    config = _build(data, programme)
    if config.engagement.total == 0:
        problem(["engagement", "required"], "nothing counts towards engagement: list activities, write-ups, webinars or sessions")
        return None, problems
    return config, []


def _programme_code(folder: Path) -> Optional[str]:
    try:
        data = yaml.safe_load((folder / "programme.yaml").read_text(encoding="utf-8"))
        return data.get("code") if isinstance(data, dict) else None
    except (OSError, yaml.YAMLError):
        return None


def check_assessments(root: str | Path) -> tuple[dict[str, AssessmentConfig], list[Problem]]:
    """Every pack's assessment.yaml under root: the valid ones by programme code, and the problems.
    A pack whose other files have problems is left to the content check to report."""
    configs: dict[str, AssessmentConfig] = {}
    problems: list[Problem] = []
    for folder in pack_folders(Path(root)):
        if not (folder / FILE).exists():
            continue
        programme, _ = check_pack(folder)  # its own problems are the content check's to report
        config, found = check_assessment(folder, programme)
        problems.extend(found)
        if config is not None:
            configs[config.programme] = config
    return configs, problems


@lru_cache(maxsize=4)
def _load_cached(root: str, stamp: tuple) -> dict[str, AssessmentConfig]:
    configs, problems = check_assessments(root)
    for p in problems:
        log.error("assessment pack problem (run `flask content check`): %s", p)
    return configs


_parse_lock = threading.Lock()
_loaded: dict[str, tuple[tuple, dict[str, AssessmentConfig]]] = {}


def load_assessments(root: str | Path) -> dict[str, AssessmentConfig]:
    """The valid assessment configurations, by programme code; re-read when a pack file changes
    (the same stamp as the programme packs, looked at most once a second: the programme page asks
    on every request). A broken assessment.yaml is logged and left out (the rest keeps working)."""
    return read_by_stamp(root, _load_cached, _parse_lock, _loaded)


def content_check_lines(root: str | Path) -> tuple[list[str], list[Problem]]:
    """For `flask content check`: a summary line per valid assessment, and the problems."""
    configs, problems = check_assessments(root)
    lines = [f"{code}: assessment {c.ref}: {len(c.cases)} cases, word cap {c.word_cap:,}, "
             f"{c.window_days}-day window, {c.engagement.total} required items for engagement, "
             f"DfE declarations ({c.kind}): {', '.join(c.declaration_types)}"
             for code, c in sorted(configs.items())]
    return lines, problems
