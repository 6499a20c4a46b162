"""Argon2id password hashing (argon2-cffi, RFC 9106 low-memory profile) and the run-off-the-event-loop helpers.

Hashing takes tens of milliseconds of CPU by design, so it runs in a thread, never on the event loop.
"""

import asyncio
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4

# Verified against when the e-mail is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("esoz-dummy-password-for-timing")


def normalize(password: str) -> str:
    """NFKC, as NIST SP 800-63B asks; no trimming, no case folding, no truncation."""
    return unicodedata.normalize("NFKC", password)


def hash_password_sync(password: str) -> str:
    return _hasher.hash(normalize(password))


def verify_password_sync(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, normalize(password)) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists (pass None for an unknown user)."""
    return await asyncio.to_thread(verify_password_sync, password_hash, password)


async def matches_any(hashes: list[str], password: str) -> bool:
    def check() -> bool:
        return any(verify_password_sync(h, password) for h in hashes)

    return await asyncio.to_thread(check)
