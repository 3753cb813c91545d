"""Random tokens are stored only as their SHA-256: a leaked database row opens nothing."""
from __future__ import annotations

import hashlib


def digest(token: str) -> str:
    """The SHA-256 (hex) a token is stored and looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()
