"""The evidence a pack's readings draw on: `references.yaml`, one entry per work, cited from
activities by slug (`evidence: [eef-metacognition-2018, ...]`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

FILE = "references.yaml"


@dataclass(frozen=True)
class Reference:
    id: str
    authors: str
    year: int
    title: str
    publisher: str
    url: Optional[str] = None
    # Where the citation was checked (a URL or a note): for the people who maintain the pack, never shown.
    verified: str = ""

    @property
    def citation(self) -> str:
        """Author-date style: "Rosenshine, B. (2012). Principles of instruction. American Educator."""
        title = self.title if self.title.endswith((".", "?", "!")) else f"{self.title}."
        return f"{self.authors} ({self.year}). {title} {self.publisher}."


def build(data: Optional[dict]) -> dict[str, Reference]:
    return {r["id"]: Reference(r["id"], r["authors"], r["year"], r["title"], r["publisher"], r.get("url"),
                               r.get("verified", ""))
            for r in (data or {}).get("references", [])}


def cross_check(data: dict[str, Any], problem: Callable[[str, list, str], None]) -> None:
    """Reference slugs are unique, and every slug an activity cites is in references.yaml."""
    known: set[str] = set()
    for ri, ref in enumerate((data.get(FILE) or {}).get("references", [])):
        if ref["id"] in known:
            problem(FILE, ["references", ri, "id"], f"reference id {ref['id']!r} is used twice")
        known.add(ref["id"])
    for mi, module in enumerate((data.get("modules.yaml") or {}).get("modules", [])):
        for ti, act in enumerate(module["activities"]):
            for ei, slug in enumerate(act.get("evidence", [])):
                if slug not in known:
                    problem("modules.yaml", ["modules", mi, "activities", ti, "evidence", ei],
                            f"no reference {slug!r} in {FILE}")


def cited(programme, activity) -> list[Reference]:
    """The references an activity cites, in the order it cites them."""
    return [programme.references[s] for s in activity.evidence if s in programme.references]
