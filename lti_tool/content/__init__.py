"""Programme packs: frameworks, modules and activities as data (see docs/programme-packs.md)."""
from __future__ import annotations

from flask import current_app

from .loader import PackError, Problem, check_all, check_pack
from .reload import load_programmes
from .model import Activity, Area, Module, Programme, Statement


def catalogue() -> dict[str, Programme]:
    """Every programme of the configured packs, keyed by code."""
    return load_programmes(current_app.config["CONTENT_PACKS_DIR"])


def find_activity(ref: str | None) -> Activity | None:
    """The activity a placement points at ("NPQSL/sc-reading"), if it exists."""
    if not ref or "/" not in ref:
        return None
    code, item = ref.split("/", 1)
    programme = catalogue().get(code)
    return programme.activities.get(item) if programme else None


def find_template_ref(ref: str | None):
    """The write-up template a placement points at ("NPQSL/action-plan"), if it exists."""
    if not ref or "/" not in ref:
        return None
    code, item = ref.split("/", 1)
    programme = catalogue().get(code)
    return programme.templates.get(item) if programme else None


__all__ = ["find_template_ref", "Activity", "Area", "Module", "PackError", "Problem", "Programme", "Statement",
           "catalogue", "check_all", "check_pack", "find_activity", "load_programmes"]
