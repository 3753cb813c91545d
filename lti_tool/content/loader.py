"""Load programme packs from YAML, check them against the schema and each other, report problems
with the file, the line and the path inside the file."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from jsonschema import Draft202012Validator

from .outline import programme_extras
from . import bibliography
from .model import (
    Activity, Area, Bullet, Criterion, Level, Module, Option, Programme, Question, Rubric, Source, Statement,
    WField, WriteupTemplate, WSection,
)
from .references import bullet_letter, derive_refs

SCHEMA = json.loads((Path(__file__).parent / "schema.json").read_text())
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PACK_FILES = ("programme.yaml", "framework.yaml", "modules.yaml")
OPTIONAL_FILES = ("writeups.yaml", "rubrics.yaml", bibliography.FILE)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top)'}: {self.message}"


class PackError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _validator(file_name: str) -> Draft202012Validator:
    schema = {**SCHEMA["files"][file_name], "$defs": SCHEMA["$defs"]}
    return Draft202012Validator(schema)


def _line_of(node: yaml.Node | None, path: Iterable[Any]) -> int | None:
    """The line of the YAML node at a path of keys and indexes (1-based), as far as it exists."""
    if node is None:
        return None
    for step in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _path_text(path: Iterable[Any]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


class _PackReader:
    def __init__(self, folder: Path):
        self.folder = folder
        self.problems: list[Problem] = []
        self.data: dict[str, Any] = {}
        self.nodes: dict[str, yaml.Node | None] = {}
        self.overlays: list[str] = []

    def rel(self, name: str) -> str:
        return f"{self.folder.name}/{name}"

    def problem(self, name: str, path: list, message: str) -> None:
        self.problems.append(Problem(self.rel(name), _line_of(self.nodes.get(name), path),
                                     _path_text(path), message))

    def read(self) -> None:
        for name in PACK_FILES + OPTIONAL_FILES:
            path = self.folder / name
            if not path.exists():
                if name in PACK_FILES:
                    self.problems.append(Problem(self.rel(name), None, "", "file is missing"))
                continue
            text = path.read_text(encoding="utf-8")
            try:
                # One parse gives both the nodes (for line numbers) and the data; libyaml if present.
                self.nodes[name] = yaml.compose(text, Loader=_LOADER)
                self.data[name] = _LOADER(text).construct_document(self.nodes[name]) if self.nodes[name] else None
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                self.problems.append(Problem(self.rel(name), mark.line + 1 if mark else None, "",
                                             f"not valid YAML: {getattr(exc, 'problem', exc)}"))
                continue
            for error in sorted(_validator(name).iter_errors(self.data[name]), key=lambda e: list(e.path)):
                self.problem(name, list(error.absolute_path), error.message)

    def cross_check(self) -> None:
        """What a schema cannot say: unique IDs, references that exist, one right answer."""
        programme, framework, modules = (self.data.get(n) for n in PACK_FILES)
        code = programme["code"]
        statement_ids: set[str] = set()
        area_ids: set[str] = set()
        area_numbers: set[int] = set()
        for ai, area in enumerate(framework["areas"]):
            if area["id"] in area_ids:
                self.problem("framework.yaml", ["areas", ai, "id"], f"area id {area['id']!r} is used twice")
            if area["number"] in area_numbers:
                self.problem("framework.yaml", ["areas", ai, "number"], f"area number {area['number']} is used twice")
            area_ids.add(area["id"])
            area_numbers.add(area["number"])
            for kind in ("learn_that", "learn_how"):
                seen = set()
                for si, s in enumerate(area.get(kind, [])):
                    if s["n"] in seen:
                        self.problem("framework.yaml", ["areas", ai, kind, si, "n"],
                                     f"number {s['n']} is used twice in {kind}")
                    seen.add(s["n"])
                    sid = f"{code}/{area['id']}/{'that' if kind == 'learn_that' else 'how'}-{s['n']}"
                    statement_ids.add(sid)
                    statement_ids.update(f"{sid}/{bullet_letter(bi)}" for bi in range(len(s.get("bullets", []))))
        if not framework["areas"] and programme.get("status") != "outline":
            self.problem("framework.yaml", ["areas"], "a framework needs areas (only an outline pack may leave them out)")
        if programme["kind"] == "to be confirmed" and programme.get("status") != "outline":
            self.problem("programme.yaml", ["kind"], "only an outline pack may leave its kind to be confirmed")
        activity_ids: set[str] = set()
        for mi, module in enumerate(modules["modules"]):
            if "area" in module and module["area"] not in area_ids:
                self.problem("modules.yaml", ["modules", mi, "area"], f"no framework area {module['area']!r}")
            for ti, act in enumerate(module["activities"]):
                where = ["modules", mi, "activities", ti]
                if act["id"] in activity_ids:
                    self.problem("modules.yaml", where + ["id"], f"activity id {act['id']!r} is used twice")
                activity_ids.add(act["id"])
                if not act["develops"] and "purpose" not in module:
                    self.problem("modules.yaml", where + ["develops"],
                                 "an activity of a framework module must develop at least one statement")
                for di, ref in enumerate(act["develops"]):
                    if ref not in statement_ids:
                        self.problem("modules.yaml", where + ["develops", di], f"no statement {ref!r} in the framework")
                qids = set()
                for qi, q in enumerate(act["questions"]):
                    if q["id"] in qids:
                        self.problem("modules.yaml", where + ["questions", qi, "id"], f"question id {q['id']!r} is used twice")
                    qids.add(q["id"])
                    if q["type"] == "choice":
                        if act["kind"] != "knowledge_check":
                            self.problem("modules.yaml", where + ["questions", qi, "type"],
                                         "choice questions belong in knowledge checks")
                        right = sum(1 for o in q.get("options", []) if o.get("correct"))
                        if right != 1:
                            self.problem("modules.yaml", where + ["questions", qi, "options"],
                                         f"a choice question needs exactly one correct option, not {right}")
                if act["kind"] == "knowledge_check" and not any(q["type"] == "choice" for q in act["questions"]):
                    self.problem("modules.yaml", where + ["questions"], "a knowledge check needs choice questions")
        self._check_writeups(statement_ids, activity_ids)
        bibliography.cross_check(self.data, self.problem)

    def _check_writeups(self, statement_ids: set[str], item_ids: set[str]) -> None:
        rubrics = (self.data.get("rubrics.yaml") or {}).get("rubrics", [])
        rubric_ids = set()
        for ri, rubric in enumerate(rubrics):
            where = ["rubrics", ri]
            if rubric["id"] in rubric_ids:
                self.problem("rubrics.yaml", where + ["id"], f"rubric id {rubric['id']!r} is used twice")
            rubric_ids.add(rubric["id"])
            seen = set()
            for ci, crit in enumerate(rubric["criteria"]):
                if crit["id"] in seen:
                    self.problem("rubrics.yaml", where + ["criteria", ci, "id"], f"criterion id {crit['id']!r} is used twice")
                seen.add(crit["id"])
                for si, ref in enumerate(crit.get("statements", [])):
                    if ref not in statement_ids:
                        self.problem("rubrics.yaml", where + ["criteria", ci, "statements", si], f"no statement {ref!r} in the framework")
                points = [lv["points"] for lv in crit["levels"]]
                if points != sorted(set(points)):
                    self.problem("rubrics.yaml", where + ["criteria", ci, "levels"], "levels must be lowest first, with points rising")
        templates = (self.data.get("writeups.yaml") or {}).get("templates", [])
        template_ids = {t["id"] for t in templates}
        for ti, tpl in enumerate(templates):
            where = ["templates", ti]
            if tpl["id"] in item_ids:
                self.problem("writeups.yaml", where + ["id"], f"id {tpl['id']!r} is also an activity id")
            item_ids.add(tpl["id"])
            if tpl["rubric"] not in rubric_ids:
                self.problem("writeups.yaml", where + ["rubric"], f"no rubric {tpl['rubric']!r} in rubrics.yaml")
            for li, link in enumerate(tpl.get("links", [])):
                if link not in template_ids:
                    self.problem("writeups.yaml", where + ["links", li], f"no template {link!r}")
            refs = [(["develops", i], r) for i, r in enumerate(tpl.get("develops", []))]
            section_ids = set()
            for si, sec in enumerate(tpl["sections"]):
                swhere = ["sections", si]
                if sec["id"] in section_ids:
                    self.problem("writeups.yaml", where + swhere + ["id"], f"section id {sec['id']!r} is used twice")
                section_ids.add(sec["id"])
                refs += [(swhere + ["statements", i], r) for i, r in enumerate(sec.get("statements", []))]
                fields = {f["id"]: f for f in sec.get("fields", [])}
                if len(fields) != len(sec.get("fields", [])):
                    self.problem("writeups.yaml", where + swhere + ["fields"], "field ids must be unique in a section")
                need = {"rating": ("likelihood", "impact", "score"), "timeline": ("start", "end", "date")}.get(sec.get("computed"))
                if need and not all(fields.get(f, {}).get("type") == need[2] for f in need[:2]):
                    self.problem("writeups.yaml", where + swhere + ["computed"],
                                 f"{sec['computed']} needs {need[2]} fields with ids {need[0]} and {need[1]}")
            for path, ref in refs:
                if ref not in statement_ids:
                    self.problem("writeups.yaml", where + path, f"no statement {ref!r} in the framework")

    def build(self) -> Programme:
        programme, framework, modules = (self.data[n] for n in PACK_FILES)
        code = programme["code"]

        areas = tuple(_build_area(code, a) for a in sorted(framework["areas"], key=lambda a: a["number"]))
        built_modules = tuple(
            Module(
                id=m["id"], programme=code, area_id=m.get("area"), title=m["title"], summary=m.get("summary", ""),
                days=m.get("days", 14), purpose=m.get("purpose"),
                activities=tuple(
                    Activity(
                        id=a["id"], programme=code, module_id=m["id"], kind=a["kind"], title=a["title"],
                        minutes=a["minutes"], develops=tuple(a["develops"]), body=tuple(a["body"]),
                        required=a.get("required", True), evidence=tuple(a.get("evidence", [])),
                        questions=tuple(
                            Question(id=q["id"], type=q["type"], prompt=q["prompt"], guidance=q.get("guidance"),
                                     options=tuple(Option(o["text"], bool(o.get("correct")), o["feedback"])
                                                   for o in q.get("options", [])))
                            for q in a["questions"]),
                    ) for a in m["activities"]),
            ) for m in modules["modules"]
        )
        settings = {k: v for k, v in programme.items() if k.endswith("_limit")}
        settings["knowledge_checks"] = programme.get("knowledge_checks", {})
        rubrics = {
            r["id"]: Rubric(id=r["id"], programme=code, title=r["title"], pass_mark=r.get("pass_mark"),
                            criteria=tuple(Criterion(c["id"], c["title"], tuple(c.get("statements", [])),
                                                     tuple(Level(lv["label"], lv["points"], lv["descriptor"])
                                                           for lv in c["levels"]))
                                           for c in r["criteria"]))
            for r in (self.data.get("rubrics.yaml") or {}).get("rubrics", [])
        }
        templates = {
            t["id"]: WriteupTemplate(
                id=t["id"], programme=code, title=t["title"], summary=t.get("summary", ""),
                develops=tuple(t.get("develops", [])), rubric_id=t["rubric"], word_limit=t.get("word_limit"),
                links=tuple(t.get("links", [])),
                sections=tuple(WSection(
                    id=s["id"], type=s["type"], title=s["title"], guidance=s.get("guidance"),
                    statements=tuple(s.get("statements", [])), min_rows=s.get("min_rows", 0),
                    max_rows=s.get("max_rows", 40), computed=s.get("computed"), word_guide=s.get("word_guide"),
                    fields=tuple(WField(f["id"], f["label"], f["type"], f.get("required", False), f.get("max_chars"),
                                        f.get("hint"), tuple(f.get("choices", []))) for f in s.get("fields", [])),
                ) for s in t["sections"]),
            ) for t in (self.data.get("writeups.yaml") or {}).get("templates", [])
        }
        return Programme(code=code, title=programme["title"], short_title=programme.get("short_title", code),
                         kind=programme["kind"], source=programme.get("source"), areas=areas,
                         modules=built_modules, settings=settings, templates=templates, rubrics=rubrics,
                         overlays=tuple(self.overlays), references=bibliography.build(self.data.get(bibliography.FILE)),
                         **programme_extras(programme))


def _source(raw: dict | None) -> Source | None:
    if not raw:
        return None
    return Source(evidence=raw["evidence"], urls=tuple(raw.get("urls", [])), seed_text=raw.get("seed_text"),
                  disagreement=raw.get("disagreement"))


def _build_area(code: str, raw: dict) -> Area:
    refs = derive_refs(raw)

    def statement(kind: str, s: dict) -> Statement:
        sid = f"{code}/{raw['id']}/{kind}-{s['n']}"
        bullets = tuple(
            Bullet(b["text"], b.get("incomplete", False), b.get("note"), id=f"{sid}/{bullet_letter(bi)}",
                   ref=refs[(kind, s["n"], bi)], completed_from=b.get("completed_from"), source=_source(b.get("source")))
            for bi, b in enumerate(s.get("bullets", [])))
        return Statement(id=sid, programme=code, area_id=raw["id"], kind=kind, n=s["n"], text=s["text"],
                         incomplete=s.get("incomplete", False), note=s.get("note"), bullets=bullets,
                         ref=refs[(kind, s["n"], None)], completed_from=s.get("completed_from"),
                         source=_source(s.get("source")))

    return Area(id=raw["id"], number=raw["number"], title=raw["title"],
                learn_that=tuple(statement("that", s) for s in raw.get("learn_that", [])),
                learn_how=tuple(statement("how", s) for s in raw.get("learn_how", [])),
                incomplete=raw.get("incomplete", False), note=raw.get("note"),
                awaiting_text=raw.get("awaiting_text", False), source=_source(raw.get("source")))


def check_pack(folder: Path, overlays: Iterable = ()) -> tuple[Programme | None, list[Problem]]:
    """One pack, with any provider overlays for it applied to its framework."""
    from .overlay import apply_overlay  # overlay.py builds on this module's YAML helpers: imported late

    reader = _PackReader(Path(folder))
    reader.read()
    if reader.problems:
        return None, reader.problems
    for overlay in overlays:
        reader.problems.extend(apply_overlay(overlay, reader.data["framework.yaml"]))
        reader.overlays.append(overlay.data["provenance"])
    if reader.problems:
        return None, reader.problems
    reader.cross_check()
    if reader.problems:
        return None, reader.problems
    return reader.build(), []


SHIPPED_PACKS = Path(__file__).parent / "packs"


def _subfolders(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _programme_code(folder: Path) -> str:
    try:
        data = yaml.load((folder / "programme.yaml").read_text(encoding="utf-8"), Loader=_LOADER)
        return str(data.get("code")) if isinstance(data, dict) else folder.name.upper()
    except (OSError, yaml.YAMLError):
        return folder.name.upper()


def pack_folders(root: Path) -> list[Path]:
    """The packs in effect for a packs folder: its own, on top of the shipped packs (a pack of its
    own with a shipped programme's code replaces that pack). Overlay folders are not packs."""
    from .overlay import is_overlay

    own = [p for p in _subfolders(root) if not is_overlay(p)]
    if Path(root).resolve() == SHIPPED_PACKS.resolve():
        return own
    codes = {_programme_code(p) for p in own}
    return [p for p in _subfolders(SHIPPED_PACKS) if _programme_code(p) not in codes] + own


def check_all(root: Path) -> tuple[dict[str, Programme], list[Problem]]:
    from .overlay import is_overlay, read_overlay

    problems: list[Problem] = []
    overlays: dict[str, list] = {}
    for folder in (p for p in _subfolders(root) if is_overlay(p)):
        overlay, found = read_overlay(folder)
        problems.extend(found)
        if overlay is not None:
            overlays.setdefault(overlay.programme, []).append(overlay)
    programmes: dict[str, Programme] = {}
    for folder in pack_folders(root):
        programme, found = check_pack(folder, overlays.pop(_programme_code(folder), []))
        problems.extend(found)
        if programme is not None:
            if programme.code in programmes:
                problems.append(Problem(f"{folder.name}/programme.yaml", None, "code",
                                        f"programme code {programme.code!r} is used by another pack"))
            programmes[programme.code] = programme
    for code, unused in overlays.items():
        problems.extend(o.problem(["programme"], f"no programme {code!r} to apply this overlay to") for o in unused)
    return programmes, problems
