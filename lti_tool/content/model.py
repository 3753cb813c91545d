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
    area_id: str
    title: str
    summary: str
    days: int
    activities: tuple[Activity, ...]


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
