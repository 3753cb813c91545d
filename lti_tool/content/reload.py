"""Programme packs read once per change: every request asks for them, and a provider edits the YAML
without restarting."""
from __future__ import annotations

import os
import threading
import time
from functools import lru_cache
from pathlib import Path

from .loader import SHIPPED_PACKS, PackError, check_all
from .model import Programme

LOOK_EVERY_SECONDS = 1.0  # how often a worker looks at the pack files' change times


@lru_cache(maxsize=4)
def _load_cached(root: str, stamp: tuple) -> dict[str, Programme]:
    programmes, problems = check_all(Path(root))
    if problems:
        raise PackError(problems)
    return programmes


def _yaml_times(root: Path) -> list[tuple[str, int]]:
    # os.scandir, not Path.glob: the stamp is taken once a second in every worker, and pathlib's
    # globbing and sorting cost a millisecond of the request that takes it.
    found = []
    try:
        folders = sorted(e.path for e in os.scandir(root) if e.is_dir())
    except FileNotFoundError:
        return found
    for folder in folders:
        with os.scandir(folder) as entries:
            found.extend(sorted((e.path, e.stat().st_mtime_ns) for e in entries
                                if e.name.endswith(".yaml") and e.is_file()))
    return found


def _stamp(root: Path) -> tuple:
    return tuple(_yaml_times(root) + _yaml_times(SHIPPED_PACKS))


_stamp_lock = threading.Lock()
_parse_lock = threading.Lock()
_last_stamp: dict[str, tuple[float, tuple]] = {}


def pack_stamp(root: str | Path) -> tuple:
    """The pack files' names and change times, looked at most once a second: what a cache of
    anything read from the packs is keyed on (programmes here, assessments in assessment/pack.py).
    The same object while nothing changed, so that callers compare it with `is`."""
    key = str(root)
    now = time.monotonic()
    with _stamp_lock:
        seen = _last_stamp.get(key)
        if seen is None or now - seen[0] > LOOK_EVERY_SECONDS:
            stamp = _stamp(Path(root))
            seen = (now, seen[1] if seen is not None and seen[1] == stamp else stamp)
            _last_stamp[key] = seen
        return seen[1]


def read_by_stamp(root: str | Path, parse, lock: threading.Lock, loaded: dict):
    """What `parse(root, stamp)` (an lru_cache'd reader of the packs) gives for the packs' current
    stamp, parsed once per change (one thread parses while the others wait). While the stamp is the
    same object, `loaded` answers without a lock or hashing the stamp: every request asks."""
    stamp = pack_stamp(root)
    key = str(root)
    hit = loaded.get(key)
    if hit is not None and hit[0] is stamp:
        return hit[1]
    with lock:
        value = parse(key, stamp)
    loaded[key] = (stamp, value)
    return value


_loaded: dict[str, tuple[tuple, dict[str, Programme]]] = {}


def load_programmes(root: str | Path) -> dict[str, Programme]:
    """The packs under root, parsed once and re-read when a file changes."""
    return read_by_stamp(root, _load_cached, _parse_lock, _loaded)
