"""DfE's rules for NPQ declarations, as the Lead Provider API guidance states them.

Sources (DfE's own guidance, kept in DFE-Digital/npq-registration):
- app/views/api/guidance/schedules-and-milestone-all-course.md: the schedule identifiers
  (npq-leadership-autumn, npq-leadership-spring, npq-specialist-autumn, npq-specialist-spring) and,
  per cohort, each milestone's date and declaration type. "Retention point 2" (retained-2) is
  "leadership only"; specialist and leadership NPQs have different completion dates. A declaration
  made in a later milestone period "will be validated and paid at the next milestone payment".
- app/views/api/guidance/submit-view-and-void-declarations.md: a `completed` declaration carries
  `has_passed` (true or false); voiding a completed declaration retracts the outcome and
  `has_passed` reverts to null.
- DFE-Digital/early-careers-framework docs/source/npq/guidance.html.md (the NPQ Lead Provider API
  guidance): `completed` is declared "when a participant has reached their final milestone and
  completed their NPQ course with a pass or fail outcome", with a value in `has_passed`; outcome
  states are `passed` or `failed` as submitted, and `voided` "if the completed declaration has
  been voided and the outcome retracted"; an outcome is updated when a retake or a correction
  changes it. Its app/models/participant_outcome/npq.rb has the same states.
- DFE-Digital/npq-registration app/views/api/guidance/definitions_and_states.md: declarations are
  submitted "where there is evidence of a participant's engagement in training for a given
  milestone period" (so retention points are dated by the evidence the tool holds).
The Early headship coaching offer (npq-ehco-*) is not an NPQ this tool delivers, so its
schedules are left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional

LEADERSHIP, SPECIALIST = "leadership", "specialist"
STARTED, RETAINED_1, RETAINED_2, COMPLETED = "started", "retained-1", "retained-2", "completed"
# Declaration types by kind of NPQ, in order. retained-2 is for leadership NPQs only.
DECLARATION_TYPES = {LEADERSHIP: (STARTED, RETAINED_1, RETAINED_2, COMPLETED),
                     SPECIALIST: (STARTED, RETAINED_1, COMPLETED)}
DECLARATION_LABELS = {STARTED: "Participant start", RETAINED_1: "Retention point 1",
                      RETAINED_2: "Retention point 2", COMPLETED: "Participant completion"}

# The assessment's word limit (DfE's course pages, via shared/frameworks/other-npqs.yaml): "up to 2,500
# words" for every leadership NPQ (NPQSL, NPQH, NPQEL, NPQEYL), 1,500 for the specialist NPQs.
WORD_CAP_BY_KIND = {LEADERSHIP: 2500, SPECIALIST: 1500}


def word_cap_for(kind: str) -> int:
    return WORD_CAP_BY_KIND.get(kind, WORD_CAP_BY_KIND[SPECIALIST])


@dataclass(frozen=True)
class Schedule:
    """One schedule of one cohort: the milestone date (deadline) of each declaration type."""

    identifier: str  # npq-leadership-autumn, ...
    cohort: int
    kind: str
    milestones: tuple[tuple[str, date], ...]  # (declaration type, milestone date), in order

    @property
    def key(self) -> str:
        return f"{self.cohort}:{self.identifier}"

    @property
    def label(self) -> str:
        season = self.identifier.rsplit("-", 1)[-1].capitalize()
        return f"{self.cohort} cohort, {self.kind} {season} ({self.identifier})"

    def milestone_date(self, declaration_type: str) -> Optional[date]:
        return dict(self.milestones).get(declaration_type)


def _lead(d0: date, d1: date, d2: date, done: date) -> tuple[tuple[str, date], ...]:
    return ((STARTED, d0), (RETAINED_1, d1), (RETAINED_2, d2), (COMPLETED, done))


def _spec(d0: date, d1: date, done: date) -> tuple[tuple[str, date], ...]:
    return ((STARTED, d0), (RETAINED_1, d1), (COMPLETED, done))


D = date
# (cohort, season): (started, retained-1, retained-2 (leadership only), completed specialist, completed leadership)
_TABLE = {
    (2021, "autumn"): (D(2021, 12, 25), D(2022, 6, 25), D(2022, 11, 25), D(2023, 2, 24), D(2023, 8, 25)),
    (2022, "autumn"): (D(2022, 11, 24), D(2023, 3, 10), D(2024, 1, 25), D(2024, 2, 25), D(2024, 8, 25)),
    (2022, "spring"): (D(2023, 6, 23), D(2023, 10, 25), D(2024, 5, 24), D(2024, 5, 24), D(2024, 12, 20)),
    (2023, "autumn"): (D(2023, 11, 24), D(2024, 3, 11), D(2025, 1, 24), D(2025, 2, 25), D(2025, 8, 25)),
    (2023, "spring"): (D(2024, 6, 25), D(2024, 10, 25), D(2025, 5, 25), D(2025, 5, 25), D(2025, 12, 19)),
    (2024, "autumn"): (D(2024, 11, 25), D(2025, 5, 26), D(2026, 1, 24), D(2026, 2, 21), D(2026, 7, 25)),
    (2025, "spring"): (D(2025, 5, 30), D(2025, 12, 19), D(2026, 7, 24), D(2026, 8, 21), D(2027, 2, 25)),
}


def _build() -> dict[str, Schedule]:
    out: dict[str, Schedule] = {}
    for (cohort, season), (d0, d1, d2, spec_done, lead_done) in sorted(_TABLE.items()):
        for s in (Schedule(f"npq-leadership-{season}", cohort, LEADERSHIP, _lead(d0, d1, d2, lead_done)),
                  Schedule(f"npq-specialist-{season}", cohort, SPECIALIST, _spec(d0, d1, spec_done))):
            out[s.key] = s
    return out


SCHEDULES = _build()


def schedules_for(kind: str) -> list[Schedule]:
    """The schedules a programme of this kind can be on, newest cohort first."""
    return sorted((s for s in SCHEDULES.values() if s.kind == kind), key=lambda s: (-s.cohort, s.identifier))


def schedule(key: Optional[str]) -> Optional[Schedule]:
    return SCHEDULES.get(key or "")


def declaration_types(kind: str) -> tuple[str, ...]:
    return DECLARATION_TYPES.get(kind, DECLARATION_TYPES[SPECIALIST])


def allowed(kind: str, declaration_type: str) -> bool:
    """retained-2 is refused for specialist NPQs (DfE: "Retention point 2 (leadership only)")."""
    return declaration_type in declaration_types(kind)
