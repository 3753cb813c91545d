"""Outline programmes: an NPQ shipped with its identity, assessment facts, topics and the induction
and assessment-preparation modules, while its framework text is awaited from the provider.

The facts come from one table, `npqs.yaml` (the ten NPQs, each fact with its source); the outline
packs' `programme.yaml` repeat them under `facts:` and the `new-programme` scaffold writes them."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Union

import yaml

FACTS_TABLE = Path(__file__).parent / "npqs.yaml"
TO_BE_CONFIRMED = "to be confirmed"
OUTLINE = "outline"
COMPLETE = "complete"
# What participants and tutors read about an outline, in plain words.
OUTLINE_BADGE = "Outline — framework text to come"


@dataclass(frozen=True)
class Topics:
    """What the course covers, as DfE's course page or a provider words it: never area titles."""

    count: Union[int, str]
    source: str
    items: tuple[str, ...] = ()
    note: Optional[str] = None


@dataclass(frozen=True)
class ProgrammeFacts:
    course_identifier: str
    audience: str
    duration: str
    weekly_study: str
    assessment: str
    word_limit: Union[int, str]
    topics: Optional[Topics]
    sources: tuple[str, ...]

    def known(self, value: Any) -> bool:
        return value != TO_BE_CONFIRMED


def facts_from(raw: Optional[dict]) -> Optional[ProgrammeFacts]:
    """The `facts:` block of a programme.yaml (already checked by the schema), as an object."""
    if not raw:
        return None
    topics = raw.get("topics")
    return ProgrammeFacts(
        course_identifier=raw["course_identifier"], audience=raw.get("audience", TO_BE_CONFIRMED),
        duration=raw.get("duration", TO_BE_CONFIRMED), weekly_study=raw.get("weekly_study", TO_BE_CONFIRMED),
        assessment=raw.get("assessment", TO_BE_CONFIRMED), word_limit=raw.get("word_limit", TO_BE_CONFIRMED),
        topics=Topics(topics["count"], topics["source"], tuple(topics.get("items", [])), topics.get("note"))
        if topics else None,
        sources=tuple(raw.get("sources", [])))


def programme_extras(raw: dict) -> dict:
    """The loader's extra Programme fields: its status and facts."""
    return {"status": raw.get("status", COMPLETE), "facts": facts_from(raw.get("facts"))}


@lru_cache(maxsize=1)
def facts_table() -> dict[str, dict]:
    """The ten NPQs by code, as `npqs.yaml` gives them."""
    data = yaml.safe_load(FACTS_TABLE.read_text(encoding="utf-8"))
    return {row["code"]: row for row in data["npqs"]}


def source_urls() -> dict[str, str]:
    return yaml.safe_load(FACTS_TABLE.read_text(encoding="utf-8"))["source_urls"]


def check_lines(programmes: dict) -> list[str]:
    """For `flask content check`: one line per outline programme."""
    lines = []
    for code, programme in sorted(programmes.items()):
        if programme.status != OUTLINE:
            continue
        facts = programme.facts
        topics = facts.topics if facts else None
        about = (f"{len(topics.items)} topics listed from {'a provider' if 'provider' in topics.source else 'DfE'}"
                 if topics and topics.items else ("topics to be confirmed" if topics else "no topics listed"))
        purposes = ", ".join(sorted({m.purpose or "framework" for m in programme.modules}))
        lines.append(f"{code}: outline awaiting the provider's framework text ({about}; "
                     f"{len(programme.modules)} modules: {purposes}; {len(programme.statements)} statements)")
    return lines
