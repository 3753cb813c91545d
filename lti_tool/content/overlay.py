"""Provider overlays: official wording for a shipped programme, supplied without editing its pack.

An overlay is a folder in CONTENT_PACKS_DIR holding `overlay.yaml` (and no `programme.yaml`). It names
the programme, says where its wording comes from, and replaces statement texts, bullet lists and
references by ID (see docs/content-overlays.md). It is applied to the framework's data before the pack
is cross-checked, so every module, rubric and write-up is checked against the corrected framework.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .loader import _LOADER, Problem, _line_of, _path_text, _validator
from .references import bullet_letter

OVERLAY_FILE = "overlay.yaml"
KINDS = {"that": "learn_that", "how": "learn_how"}


def is_overlay(folder: Path) -> bool:
    return (folder / OVERLAY_FILE).exists() and not (folder / "programme.yaml").exists()


@dataclass
class Overlay:
    folder: Path
    data: dict
    node: Any

    @property
    def programme(self) -> str:
        return self.data["programme"]

    def problem(self, path: list, message: str) -> Problem:
        return Problem(f"{self.folder.name}/{OVERLAY_FILE}", _line_of(self.node, path), _path_text(path), message)


def read_overlay(folder: Path) -> tuple[Overlay | None, list[Problem]]:
    """The overlay in a folder, or the problems that keep it from being applied."""
    rel = f"{folder.name}/{OVERLAY_FILE}"
    text = (folder / OVERLAY_FILE).read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = _LOADER(text).construct_document(node) if node else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(rel, mark.line + 1 if mark else None, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    overlay = Overlay(folder, data, node)
    problems = [overlay.problem(list(e.absolute_path), e.message)
                for e in sorted(_validator(OVERLAY_FILE).iter_errors(data), key=lambda e: list(e.path))]
    return (None, problems) if problems else (overlay, [])


def apply_overlay(overlay: Overlay, framework: dict) -> list[Problem]:
    """Apply one overlay to a framework's raw data (in place); the problems name the overlay's lines."""
    problems: list[Problem] = []
    source = {"evidence": overlay.data["provenance"], "urls": list(overlay.data.get("urls", []))}
    seen: set[str] = set()
    for i, entry in enumerate(overlay.data.get("statements", [])):
        where = ["statements", i]
        if entry["id"] in seen:
            problems.append(overlay.problem(where + ["id"], f"{entry['id']!r} is given twice"))
            continue
        seen.add(entry["id"])
        message = _apply_entry(entry, framework, overlay.programme, source)
        if message:
            problems.append(overlay.problem(where + ["id"], message))
    return problems


def _apply_entry(entry: dict, framework: dict, code: str, source: dict) -> str | None:
    parts = entry["id"].split("/")
    if parts[0] != code:
        return f"{entry['id']!r} is not a statement of {code}"
    area = next((a for a in framework["areas"] if a["id"] == parts[1]), None)
    if area is None:
        return f"no area {parts[1]!r} in {code}'s framework"
    kind, n = parts[2].split("-")
    statements = area.setdefault(KINDS[kind], [])
    raw = next((s for s in statements if s["n"] == int(n)), None)
    if raw is None:
        awaiting = area.get("awaiting_text") or area.get("_filled_by_overlay")
        if not awaiting or len(parts) == 4 or "text" not in entry:
            return f"no statement {entry['id']!r} in {code}'s framework"
        raw = {"n": int(n), "text": entry["text"]}  # the statements of an area that awaited its text
        statements.append(raw)
        statements.sort(key=lambda s: s["n"])
        area.pop("awaiting_text", None)
        area["_filled_by_overlay"] = True
    if len(parts) == 4:
        return _apply_bullet(entry, raw, parts[3], source)
    if "bullets" in entry and kind != "how":
        return "only a Learn how to statement has bullets"
    if "text" in entry:
        _supply(raw, entry["text"], source)
    if "bullets" in entry:
        raw["bullets"] = [_supply({}, text, source) for text in entry["bullets"]]
        if "text" in entry or raw["text"].rstrip().endswith(":"):  # the heading itself is whole
            raw.pop("incomplete", None)
    _finish(raw, entry)
    return None


def _apply_bullet(entry: dict, raw: dict, letter: str, source: dict) -> str | None:
    bullets = raw.get("bullets", [])
    index = next((i for i in range(len(bullets)) if bullet_letter(i) == letter), None)
    if index is None:
        return f"no bullet {letter!r} in {entry['id'].rsplit('/', 1)[0]!r} (give the whole list with `bullets:` on the statement)"
    if "bullets" in entry:
        return "a single bullet takes `text`, not `bullets`"
    if "text" in entry:
        _supply(bullets[index], entry["text"], source)
    _finish(bullets[index], entry)
    return None


def _supply(raw: dict, text: str, source: dict) -> dict:
    """The wording the provider supplies replaces the pack's, which is kept as the seed text."""
    previous = raw.get("text")
    raw.update(text=text, completed_from="provider",
               source={**source, **({"seed_text": previous} if previous and previous != text else {})})
    raw.pop("incomplete", None)
    raw.pop("note", None)
    return raw


def _finish(raw: dict, entry: dict) -> None:
    if "ref" in entry:
        raw["ref"] = entry["ref"]
    if "note" in entry:
        raw["note"] = entry["note"]
