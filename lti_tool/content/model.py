"""Programme packs as plain, read-only objects: a framework and the modules built on it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Bullet:
    text: str
    incomplete: bool = False
    note: Optional[str] = None


@dataclass(frozen=True)
class Statement:
    """A "Learn that" (kind "that") or "Learn how to" (kind "how") statement, with a stable ID."""

    id: str
    programme: str
    area_id: str
    kind: str
    n: int
    text: str
    bullets: tuple[Bullet, ...] = ()
    incomplete: bool = False
    note: Optional[str] = None

    @property
    def label(self) -> str:
        return f"{'Learn that' if self.kind == 'that' else 'Learn how'} {self.n}"


@dataclass(frozen=True)
class Area:
    id: str
    number: int
    title: str
    learn_that: tuple[Statement, ...]
    learn_how: tuple[Statement, ...]
    incomplete: bool = False
    note: Optional[str] = None


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

    def __post_init__(self):
        for area in self.areas:
            for s in area.learn_that + area.learn_how:
                self.statements[s.id] = s
        for module in self.modules:
            for activity in module.activities:
                self.activities[activity.id] = activity

    def area(self, area_id: str) -> Optional[Area]:
        return next((a for a in self.areas if a.id == area_id), None)

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
