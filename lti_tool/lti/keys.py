"""The tool's RSA signing keys: generated on first start, published as a JWKS, rotated by command.

`keyset.json` names the current key and the next one; both are published so platforms that cache
the tool's key set keep validating across a rotation. It also lists the keys retired by earlier
rotations with the time each was retired: each stays published (it signs nothing) for a grace
period, so tokens it signed just before the rotation still verify, then it is dropped.
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property, lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

KEY_BITS = 2048
# How long a retired key stays published by default (the KEY_ROTATION_GRACE_HOURS setting).
DEFAULT_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class ToolKey:
    kid: str
    private_pem: str

    @cached_property
    def public_jwk(self) -> dict:
        jwk = JWK.from_pem(self.private_pem.encode())
        public = json.loads(jwk.export_public())
        public.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return public

    @cached_property
    def private_key(self):
        """The parsed key, for signing (PyJWT takes it as is: no re-parsing per signature)."""
        return serialization.load_pem_private_key(self.private_pem.encode(), password=None,
                                                  unsafe_skip_rsa_key_validation=True)

    @cached_property
    def public_pem(self) -> str:
        # Our own key, checked when generated: skip cryptography's slow RSA consistency check.
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None,
                                                 unsafe_skip_rsa_key_validation=True)
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def new_key() -> ToolKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = JWK.from_pem(pem.encode()).thumbprint()
    return ToolKey(kid=kid, private_pem=pem)


def _write_private(path: Path, text: str) -> None:
    # Created with 0600 from the start: the key is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


# A key file never changes once written (its name is its thumbprint), so each is parsed once per
# process; the derived public forms are cached on the ToolKey. These are read-only caches of
# files, not state shared between processes.
_INDEX_CACHE: dict[str, tuple[int, dict]] = {}


@lru_cache(maxsize=16)
def _load_key(path: str, kid: str) -> ToolKey:
    return ToolKey(kid=kid, private_pem=Path(path).read_text())


class KeyStore:
    def __init__(self, directory: str | Path):
        self.dir = Path(directory)

    @property
    def _index(self) -> Path:
        return self.dir / "keyset.json"

    def ensure(self) -> None:
        """Create the current and next keys if this is the first start."""
        if self._index.exists():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        # Several workers may start at once: one creates the keys, the others wait and reuse them.
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._index.exists():
                return
            current, upcoming = new_key(), new_key()
            self._save_key(current)
            self._save_key(upcoming)
            self._save_index(current.kid, upcoming.kid)

    def _save_key(self, key: ToolKey) -> None:
        _write_private(self.dir / f"{key.kid}.pem", key.private_pem)

    def _save_index(self, current: str, upcoming: str, previous: list[dict] | None = None) -> None:
        tmp = self.dir / "keyset.json.tmp"
        tmp.write_text(json.dumps({"current": current, "next": upcoming, "previous": previous or []}, indent=2))
        tmp.replace(self._index)

    def _load(self, kid: str) -> ToolKey:
        return _load_key(str(self.dir / f"{kid}.pem"), kid)

    def _read_index(self) -> dict:
        """keyset.json, re-read only when it changes (a rotation by another process)."""
        self.ensure()
        stamp = self._index.stat().st_mtime_ns
        cached = _INDEX_CACHE.get(str(self._index))
        if cached is None or cached[0] != stamp:
            cached = (stamp, json.loads(self._index.read_text()))
            _INDEX_CACHE[str(self._index)] = cached
        return cached[1]

    def current(self) -> ToolKey:
        return self._load(self._read_index()["current"])

    def upcoming(self) -> ToolKey:
        return self._load(self._read_index()["next"])

    def previous(self) -> list[ToolKey]:
        """Keys retired by a rotation and still in their grace period, newest first: published,
        never used to sign."""
        now = datetime.now(timezone.utc)
        return [self._load(p["kid"]) for p in self._read_index().get("previous", [])
                if datetime.fromisoformat(p["published_until"]) > now]

    def jwks(self) -> dict:
        keys = [self.current(), self.upcoming(), *self.previous()]
        return {"keys": [key.public_jwk for key in keys]}

    def rotate(self, grace: timedelta = DEFAULT_GRACE) -> tuple[str, str]:
        """The next key becomes current; a new next key is made; the old current key stays
        published for `grace`. Returns (current, next) kids."""
        with open(self.dir / ".lock", "w") as lock:  # two rotations at once would lose a key
            fcntl.flock(lock, fcntl.LOCK_EX)
            index = self._read_index()
            now = datetime.now(timezone.utc)
            retired = {"kid": index["current"], "retired_at": now.isoformat(),
                       "published_until": (now + grace).isoformat()}
            previous = [retired, *index.get("previous", [])]
            kept = [p for p in previous if datetime.fromisoformat(p["published_until"]) > now]
            fresh = new_key()
            self._save_key(fresh)
            self._save_index(index["next"], fresh.kid, kept)
            for dropped in (p for p in previous if p not in kept):
                # Kept on disk (0600, not published) for an orderly audit; it signs nothing.
                path = self.dir / f"{dropped['kid']}.pem"
                if path.exists():
                    path.rename(self.dir / f"{dropped['kid']}.pem.retired")
            return index["next"], fresh.kid
