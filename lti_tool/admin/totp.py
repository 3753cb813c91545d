"""The admin second factor: TOTP codes (RFC 6238, through pyotp) and one-time recovery codes."""
from __future__ import annotations

import hmac
import re
import secrets
import time
from typing import Optional

import pyotp
import segno
from sqlalchemy import or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import db, utcnow
from ..models import AdminUser

ISSUER = "NPQ Learning"
RECOVERY_CODE_COUNT = 10
# Recovery codes are 50 random bits, not guessable words: a moderate PBKDF2 cost is plenty, and
# checking a tried code against ten hashes stays quick.
_RECOVERY_HASH = "pbkdf2:sha256:60000"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed back


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, username: str, host: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=f"{username}@{host}", issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as an SVG QR code, for an <img> (the CSP allows data: images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4)


def formatted_secret(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def clean_code(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


def matching_step(secret: str, code: str) -> Optional[int]:
    """The time step (previous, current or next: some clock drift) whose code this is, or None."""
    code = clean_code(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)  # 6 digits, 30-second steps
    now = totp.timecode(time.time())
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: AdminUser, step: int) -> bool:
    """Record the step as used, in one conditional UPDATE: two requests with the same code
    cannot both win, and a code (or an earlier one) is never accepted twice."""
    result = db().execute(
        update(AdminUser)
        .where(AdminUser.id == user.id,
               or_(AdminUser.totp_last_step.is_(None), AdminUser.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        user.totp_last_step = step
        return True
    return False


def use_totp_code(user: AdminUser, code: str) -> bool:
    """True when the code is the enrolled admin's current one and was not used before; it is
    used up (the caller commits)."""
    if not user.totp_secret or user.totp_enabled_at is None:
        return False
    step = matching_step(user.totp_secret, code)
    return step is not None and _claim_step(user, step)


def use_recovery_code(user: AdminUser, code: str) -> bool:
    """True, and the code struck out, when it is one of the admin's unused recovery codes."""
    code = clean_code(code).lower()
    if not code or len(code) > 20:
        return False
    # Lock the row while the list changes (PostgreSQL; SQLite serialises writers anyway).
    row = db().scalar(select(AdminUser).where(AdminUser.id == user.id).with_for_update()
                      .execution_options(populate_existing=True))
    hashes = list(row.recovery_codes or [])
    for stored in hashes:
        if check_password_hash(stored, code):
            row.recovery_codes = [h for h in hashes if h != stored]
            return True
    return False


def new_recovery_codes(user: AdminUser) -> list[str]:
    """Ten new codes replace any old ones; the plain codes are returned to be shown once."""
    plain = ["".join(secrets.choice(_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODE_COUNT)]
    user.recovery_codes = [generate_password_hash(code, method=_RECOVERY_HASH) for code in plain]
    return [f"{code[:5]}-{code[5:]}" for code in plain]


def enrol(user: AdminUser, step: int) -> list[str]:
    """Turn 2FA on with the pending secret the first code proved; returns the recovery codes."""
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step  # the confirming code cannot sign anyone in afterwards
    return new_recovery_codes(user)


def reset(user: AdminUser) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = None
