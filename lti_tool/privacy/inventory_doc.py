"""The data inventory as Markdown, for docs/data-protection.md (between marker comments, so a test
can tell when the committed document no longer matches the inventory)."""
from __future__ import annotations

from pathlib import Path

from .inventory import ERASURE_RULES, TABLES, TableSpec

BEGIN = "<!-- BEGIN GENERATED INVENTORY (flask data inventory --markdown) -->"
END = "<!-- END GENERATED INVENTORY -->"
DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "data-protection.md"
_ERASURE_WORDS = {"delete": "deleted", "blank": "blanked", "pseudonymise": "pseudonymised", "keep": "kept"}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _grouped(entries, key) -> dict[str, list[str]]:
    """Column names (as code) grouped by a shared reason, in the inventory's order."""
    out: dict[str, list[str]] = {}
    for e in entries:
        out.setdefault(key(e), []).append(f"`{e.column}`")
    return out


def _table_block(spec: TableSpec) -> list[str]:
    personal = spec.personal()
    lines = [f"### `{spec.name}`", ""]
    if personal:
        first = personal[0]
        lines += [f"- **Purpose:** {_cell(first.purpose)}",
                  f"- **Whose:** {', '.join(first.subjects)}",
                  f"- **Lawful basis:** {_cell(first.basis)}",
                  f"- **Subject access file:** `{spec.area}.json`" if spec.area else
                  "- **Subject access file:** not exported (not about the person searched for, or only "
                  "counted in `as_tutor_or_marker.json`)"]
        if spec.kept_rows:
            column, value, reason = spec.kept_rows
            lines.append(f"- **Rows kept on erasure** where `{column}` is `{value}`: {_cell(reason)}")
        lines += ["", "| column | retention | on erasure |", "| --- | --- | --- |"]
        lines += [f"| `{e.column}` | {e.retention} | {_ERASURE_WORDS[e.erasure]} |" for e in personal]
        lines.append("")
        kept = _grouped([e for e in personal if e.keep_reason], lambda e: e.keep_reason)
        if kept:
            lines.append("Kept on erasure, and why:")
            lines += [f"- {', '.join(columns)}: {_cell(reason)}" for reason, columns in kept.items()]
            lines.append("")
    others = [e for e in spec.columns.values() if not e.personal]
    if others:
        lines.append("Not personal data (retention: " + spec.retention + "):")
        lines += [f"- {', '.join(columns)}: {_cell(note)}"
                  for note, columns in _grouped(others, lambda e: e.note).items()]
        lines.append("")
    return lines


def markdown() -> str:
    """The generated section: a summary of personal tables, then every table's columns."""
    personal_tables = [s for s in TABLES.values() if s.personal()]
    lines = [BEGIN, "", f"{len(TABLES)} tables, {sum(len(s.columns) for s in TABLES.values())} columns; "
             f"{len(personal_tables)} tables hold personal data. Erasure rules: {', '.join(ERASURE_RULES)}.", "",
             "| table | whose | retention | purpose |", "| --- | --- | --- | --- |"]
    for spec in sorted(personal_tables, key=lambda s: s.name):
        first = spec.personal()[0]
        lines.append(f"| `{spec.name}` | {', '.join(first.subjects)} | {spec.retention} | {_cell(first.purpose)} |")
    lines += ["", "## Every table and column", ""]
    for name in sorted(TABLES):
        lines += _table_block(TABLES[name])
    lines.append(END)
    return "\n".join(lines) + "\n"


def generated_section(document: str) -> str:
    """The part of a document between the markers, markers included ('' if absent)."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        return ""
    return document[start:end + len(END)] + "\n"


def update_document(path: Path = DOC_PATH) -> bool:
    """Rewrite the generated section of the document; True if it changed."""
    text = path.read_text(encoding="utf-8")
    old = generated_section(text)
    if not old:
        raise ValueError(f"{path} has no generated section (the {BEGIN} and {END} markers).")
    new_text = text.replace(old, markdown())
    if new_text != text:
        path.write_text(new_text, encoding="utf-8")
    return new_text != text
