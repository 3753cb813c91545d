"""The catalogue: every item a course can place (activities, project write-ups, assessments)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import catalogue


@dataclass(frozen=True)
class CatalogueItem:
    ref: str
    programme: str
    group: str  # the module, or "In-school project"
    kind_label: str
    title: str
    description: str
    develops: tuple[str, ...]
    marking: Optional[str]  # "auto", "tutor" or None
    score_maximum: Optional[float]

    @property
    def marked(self) -> bool:
        return self.marking is not None

    def matches(self, query: str) -> bool:
        q = query.lower()
        return any(q in s.lower() for s in (self.title, self.description, self.group, self.kind_label, self.ref)
                   ) or any(q in s.lower() for s in self.develops)


def items_of(code: str) -> list[CatalogueItem]:
    programme = catalogue().get(code)
    if programme is None:
        return []
    out: list[CatalogueItem] = []
    for module in programme.modules:
        for a in module.activities:
            out.append(CatalogueItem(
                ref=a.ref, programme=code, group=module.title, kind_label=a.kind_label, title=a.title,
                description=(a.body[0][:220] + "…") if a.body and len(a.body[0]) > 220 else (a.body[0] if a.body else ""),
                develops=a.develops, marking="auto" if a.auto_marked else None,
                score_maximum=float(a.max_score) if a.auto_marked else None))
    for extra in _extra_item_sources:
        out.extend(extra(programme))
    return out


def find_item(ref: Optional[str]) -> Optional[CatalogueItem]:
    if not ref or "/" not in ref:
        return None
    return next((i for i in items_of(ref.split("/", 1)[0]) if i.ref == ref), None)


# Other areas of the tool (write-ups, assessments) add their items here.
_extra_item_sources: list = []


def register_item_source(fn) -> None:
    if fn not in _extra_item_sources:
        _extra_item_sources.append(fn)
