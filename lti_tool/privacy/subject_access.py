"""Subject access: everything held about one person, as a ZIP of JSON files (one per area of the
inventory) and a PDF summary. Driven by the inventory: every table with rows about a person is
read with one query, so a person with a full programme of work costs a few dozen queries."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import select

from .. import audit
from ..content.items import find_item
from ..dates import format_datetime
from ..db import db, utcnow
from ..models import Course, Person
from .inventory import AREAS, TABLES, TableSpec, tables_about_people
from .people import Found, about, counts_by, person_found, table_of

ACTED_FOR_OTHERS = ("Records about other people where this person acted (marks they gave, questions they "
                    "answered, attendance they recorded): counted here, not copied, because they are "
                    "mostly about someone else.")
# Reference columns shown with a readable title beside them.
_ITEM_COLUMNS = ("activity_ref", "template_ref", "item_ref")


@dataclass
class SubjectData:
    found: Found
    generated_at: datetime
    areas: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    acted_for_others: dict[str, int] = field(default_factory=dict)

    def rows(self, table: str) -> list[dict[str, Any]]:
        spec = TABLES[table]
        return self.areas.get(spec.area, {}).get(table, [])


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def item_title(ref: Optional[str], cache: Optional[dict] = None) -> Optional[str]:
    """The programme pack's title for an item reference (cache: per export, packs can change)."""
    cache = {} if cache is None else cache
    if ref not in cache:
        item = find_item(ref)
        cache[ref] = item.title if item else None
    return cache[ref]


def _rows_of(spec: TableSpec, person_id: int) -> list[dict[str, Any]]:
    t = table_of(spec)
    columns = [c for c in t.columns if c.name not in spec.unexported]
    order = [t.c.id] if "id" in t.c else []
    result = db().execute(select(*columns).where(about(spec, person_id)).order_by(*order))
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in result]


def _readable(areas: dict[str, dict[str, list[dict]]]) -> None:
    """Beside ids of courses and of people who acted, their titles and names; beside item
    references, the item's title. Two queries for all of them."""
    course_ids, people_ids = set(), set()
    for table, rows in ((t, r) for tables in areas.values() for t, r in tables.items()):
        for row in rows:
            if row.get("course_id") is not None:
                course_ids.add(row["course_id"])
            people_ids.update(row[c] for c in TABLES[table].by if row.get(c) is not None)
    titles = {cid: title or label or "Untitled course" for cid, title, label in db().execute(
        select(Course.id, Course.title, Course.label).where(Course.id.in_(course_ids or {-1})))}
    names = {p.id: p.display_name for p in db().scalars(select(Person).where(Person.id.in_(people_ids or {-1})))}
    cache: dict = {}
    for table, rows in ((t, r) for tables in areas.values() for t, r in tables.items()):
        for row in rows:
            if "course_id" in row:
                row["course_title"] = titles.get(row["course_id"])
            for column in TABLES[table].by:
                if column in row:
                    row[column + "_name"] = names.get(row[column])
            for column in _ITEM_COLUMNS:
                if row.get(column):
                    row[column.rsplit("_", 1)[0] + "_title"] = item_title(row[column], cache)


def gather(person_id: int) -> Optional[SubjectData]:
    found = person_found(person_id)
    if found is None:
        return None
    data = SubjectData(found, utcnow(), {area: {} for area in AREAS})
    for spec in tables_about_people():
        if spec.area:
            data.areas[spec.area][spec.name] = _rows_of(spec, person_id)
    _readable(data.areas)
    data.acted_for_others = counts_by(person_id)
    return data


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def archive_name(data: SubjectData) -> str:
    return f"subject-access-{data.found.person.id}-{data.generated_at:%Y%m%d}.zip"


def build_zip(data: SubjectData) -> bytes:
    """The archive: README.txt, one JSON file per area, as_tutor_or_marker.json and summary.pdf."""
    from .subject_pdf import summary_pdf

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(data))
        for area, description in AREAS.items():
            archive.writestr(f"{area}.json", _json({
                "area": area, "description": description, "person_id": data.found.person.id,
                "generated_at": data.generated_at.isoformat(), "tables": data.areas.get(area, {})}))
        archive.writestr("as_tutor_or_marker.json", _json({
            "description": ACTED_FOR_OTHERS, "person_id": data.found.person.id, "counts": data.acted_for_others}))
        archive.writestr("summary.pdf", summary_pdf(data))
    return buffer.getvalue()


def _readme(data: SubjectData) -> str:
    lines = [f"Personal data held about {data.found.person.display_name} by NPQ Learning",
             f"Generated {format_datetime(data.generated_at, with_zone=True)}.", "",
             "summary.pdf: a readable summary.", "Machine-readable files (JSON, UTF-8):"]
    lines += [f"  {area}.json: {description}" for area, description in AREAS.items()]
    lines += [f"  as_tutor_or_marker.json: {ACTED_FOR_OTHERS}", "",
              "Each JSON file lists, per table of the tool's database, every row held about this person "
              "with all its columns (dates in UTC, ISO 8601). The tool's data inventory "
              "(docs/data-protection.md) explains every column."]
    return "\r\n".join(lines) + "\r\n"


def export_person(person_id: int, actor: Optional[str] = None) -> Optional[tuple[str, bytes]]:
    """(file name, ZIP bytes) for the person, with its audit entry committed; None if no such person."""
    data = gather(person_id)
    if data is None:
        return None
    content = build_zip(data)
    rows = {table: len(rows) for tables in data.areas.values() for table, rows in tables.items() if rows}
    audit.record("subject_access.export", target=data.found.person, subject=data.found.person, actor=actor,
                 detail={"rows": rows, "bytes": len(content)})
    db().commit()
    return archive_name(data), content
