"""Programme packs as plain, read-only objects: a framework and the modules built on it."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Optional

# Where a statement's wording comes from (see docs/programme-packs.md, "Provenance").
COMPLETE, SIBLING, PROVIDER, INCOMPLETE = "complete", "sibling", "provider", "incomplete"
STATUS_LABELS = {
    COMPLETE: "complete in the source copy",
    SIBLING: "completed from a sibling source",
    PROVIDER: "provider-supplied",
    INCOMPLETE: "still incomplete",
}


@dataclass(frozen=True)
class Source:
    """Provenance of a wording the source copy lacked: the copy's text, the evidence and addresses."""

    evidence: str
    urls: tuple[str, ...] = ()
    seed_text: Optional[str] = None
    disagreement: Optional[str] = None


@dataclass(frozen=True)
class Bullet:
    text: str
    incomplete: bool = False
    note: Optional[str] = None
    # Set by the loader: "<statement id>/<letter>" and the DfE-style reference ("2.3a").
    id: str = ""
    ref: str = ""
    completed_from: Optional[str] = None
    source: Optional[Source] = None

    @property
    def status(self) -> str:
        return _status(self.incomplete, self.completed_from)


def _status(incomplete: bool, completed_from: Optional[str]) -> str:
    if incomplete:
        return INCOMPLETE
    return completed_from or COMPLETE


@dataclass(frozen=True)
class Statement:
    """A "Learn that" (kind "that") or "Learn how to" (kind "how") statement, with a stable ID and a
    DfE-style reference ("2.3" for Learn that 3 of area 2; a Learn how heading is referenced by its
    lettered bullets, "2.3a–c")."""

    id: str
    programme: str
    area_id: str
    kind: str
    n: int
    text: str
    bullets: tuple[Bullet, ...] = ()
    incomplete: bool = False
    note: Optional[str] = None
    ref: str = ""
    completed_from: Optional[str] = None
    source: Optional[Source] = None

    @property
    def label(self) -> str:
        """What tutors and participants read before the text: the reference, never the ID."""
        return self.ref or f"{'Learn that' if self.kind == 'that' else 'Learn how'} {self.n}"

    @property
    def kind_label(self) -> str:
        return "Learn that" if self.kind == "that" else "Learn how to"

    @property
    def status(self) -> str:
        return _status(self.incomplete, self.completed_from)

    @property
    def units(self) -> tuple[str, ...]:
        """What coverage counts: a Learn that statement, or each bullet of a Learn how to statement
        (the heading itself while none of its bullets are known)."""
        if self.kind == "how" and self.bullets:
            return tuple(b.id for b in self.bullets)
        return (self.id,)

    def bullet(self, bullet_id: str) -> Optional[Bullet]:
        return next((b for b in self.bullets if b.id == bullet_id), None)


@dataclass(frozen=True)
class Area:
    id: str
    number: int
    title: str
    learn_that: tuple[Statement, ...]
    learn_how: tuple[Statement, ...]
    incomplete: bool = False
    note: Optional[str] = None
    # The area is DfE's, but its statements are not in the pack yet (shown neutrally to participants).
    awaiting_text: bool = False
    source: Optional[Source] = None

    @property
    def statements(self) -> tuple[Statement, ...]:
        return self.learn_that + self.learn_how


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    prompt: str
    guidance: Optional[str] = None
    options: tuple[Option, ...] = ()

    @property
    def correct_index(self) -> Optional[int]:
        for i, option in enumerate(self.options):
            if option.correct:
                return i
        return None


KIND_LABELS = {
    "reading": "Evidence reading",
    "scenario": "Scenario",
    "practice": "Practice",
    "knowledge_check": "Knowledge check",
}


@dataclass(frozen=True)
class Activity:
    id: str
    programme: str
    module_id: str
    kind: str
    title: str
    minutes: int
    develops: tuple[str, ...]
    body: tuple[str, ...]
    questions: tuple[Question, ...]
    required: bool = True
    evidence: tuple[str, ...] = ()  # slugs of the pack's references.yaml

    @property
    def ref(self) -> str:
        """How placements and work refer to it: "<PROGRAMME>/<activity id>"."""
        return f"{self.programme}/{self.id}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def auto_marked(self) -> bool:
        return self.kind == "knowledge_check"

    @property
    def max_score(self) -> Optional[int]:
        if not self.auto_marked:
            return None
        return sum(1 for q in self.questions if q.type == "choice")


@dataclass(frozen=True)
class Module:
    id: str
    programme: str
    area_id: Optional[str]
    title: str
    summary: str
    days: int
    activities: tuple[Activity, ...]
    # None for a framework module; "induction", "preparation" or "bridging" for one outside the areas.
    purpose: Optional[str] = None

    @property
    def counts_for_coverage(self) -> bool:
        """Only framework modules develop the programme's statements."""
        return self.purpose is None

    @property
    def counts_for_engagement(self) -> bool:
        """Bridging material is optional background: it never counts towards engagement."""
        return self.purpose != "bridging"


@dataclass
class Programme:
    code: str
    title: str
    short_title: str
    kind: str
    source: Optional[str]
    areas: tuple[Area, ...]
    modules: tuple[Module, ...]
    settings: dict = field(default_factory=dict)
    templates: dict = field(default_factory=dict)  # id -> WriteupTemplate
    rubrics: dict = field(default_factory=dict)  # id -> Rubric
    references: dict = field(default_factory=dict)  # slug -> references.Reference
    statements: dict[str, Statement] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    # "complete", or "outline": identity, facts and induction/preparation modules, framework text to come.
    status: str = "complete"
    facts: Optional[object] = None  # outline.ProgrammeFacts: identity and assessment facts with sources
    overlays: tuple[str, ...] = ()  # the provenance of each provider overlay applied

    def __post_init__(self):
        for area in self.areas:
            for s in area.learn_that + area.learn_how:
                self.statements[s.id] = s
        for module in self.modules:
            for activity in module.activities:
                self.activities[activity.id] = activity

    @property
    def is_outline(self) -> bool:
        return self.status == "outline"

    def area(self, area_id: str) -> Optional[Area]:
        return next((a for a in self.areas if a.id == area_id), None)

    @cached_property
    def coverage_units(self) -> tuple[str, ...]:
        """Every unit coverage is counted in, in framework order."""
        return tuple(u for area in self.areas for s in area.statements for u in s.units)

    def statement_of(self, ref: str) -> Optional[Statement]:
        """The statement a develops/statements entry names: a statement ID or one of its bullets'."""
        return self.statements.get(ref) or self.statements.get(ref.rsplit("/", 1)[0])

    def units_of(self, refs) -> set[str]:
        """The coverage units (statements and bullets) a list of develops/statements entries names:
        a whole Learn how to statement counts as every one of its bullets."""
        out: set[str] = set()
        for ref in refs:
            if ref in self.statements:
                out.update(self.statements[ref].units)
            elif self.statement_of(ref) is not None:
                out.add(ref)
        return out

    def statements_for(self, refs) -> list[Statement]:
        """The statements a develops/statements list names, in its order, for display: an entry naming
        single bullets shows its heading with just those bullets."""
        out: dict[str, Statement] = {}
        for ref in refs:
            statement = self.statement_of(ref)
            if statement is None or out.get(statement.id) is statement:
                continue
            if ref == statement.id:
                out[statement.id] = statement
            else:
                earlier = out[statement.id].bullets if statement.id in out else ()
                out[statement.id] = replace(statement, bullets=earlier + tuple(b for b in statement.bullets if b.id == ref))
        return list(out.values())

    def unit_caption(self, unit: str, length: int = 90) -> str:
        """A reference with the start of its text, for plain-text places (exports, lists)."""
        statement = self.statement_of(unit)
        if statement is None:
            return ""
        bullet = statement.bullet(unit)
        text = (bullet or statement).text
        short = text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"
        return f"{self.unit_label(unit)} {short}"

    def unit_label(self, unit: str) -> str:
        """The plain reference of a coverage unit ("2.3", "2.3a")."""
        statement = self.statement_of(unit)
        if statement is None:
            return ""
        bullet = statement.bullet(unit)
        return bullet.ref if bullet else statement.label

    def module_of(self, activity: Activity) -> Module:
        return next(m for m in self.modules if m.id == activity.module_id)

    @property
    def essay_word_limit(self) -> int:
        return int(self.settings.get("essay_word_limit", 4000))

    def word_limit(self, template) -> int:
        return template.word_limit or self.essay_word_limit


@dataclass(frozen=True)
class WField:
    id: str
    label: str
    type: str  # line | paragraph | date | score | choice | statements
    required: bool = False
    max_chars: Optional[int] = None
    hint: Optional[str] = None
    choices: tuple[str, ...] = ()

    @property
    def limit(self) -> int:
        return self.max_chars or (300 if self.type == "line" else 5000)


@dataclass(frozen=True)
class WSection:
    id: str
    type: str  # fields | table | text | references
    title: str
    guidance: Optional[str] = None
    statements: tuple[str, ...] = ()
    fields: tuple[WField, ...] = ()
    min_rows: int = 0
    max_rows: int = 40
    computed: Optional[str] = None
    word_guide: Optional[int] = None

    def field(self, field_id: str) -> Optional[WField]:
        return next((f for f in self.fields if f.id == field_id), None)


@dataclass(frozen=True)
class WriteupTemplate:
    id: str
    programme: str
    title: str
    summary: str
    develops: tuple[str, ...]
    rubric_id: str
    sections: tuple[WSection, ...]
    word_limit: Optional[int] = None
    links: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.programme}/{self.id}"

    @property
    def counts_words(self) -> bool:
        return any(s.type == "text" for s in self.sections)

    def section(self, section_id: str) -> Optional[WSection]:
        return next((s for s in self.sections if s.id == section_id), None)


@dataclass(frozen=True)
class Level:
    label: str
    points: float
    descriptor: str


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    statements: tuple[str, ...]
    levels: tuple[Level, ...]

    @property
    def max_points(self) -> float:
        return max(level.points for level in self.levels)


@dataclass(frozen=True)
class Rubric:
    id: str
    programme: str
    title: str
    criteria: tuple[Criterion, ...]
    pass_mark: Optional[float] = None

    @property
    def score_maximum(self) -> float:
        return sum(c.max_points for c in self.criteria)
