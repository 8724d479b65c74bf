"""Who a request is from: students by their sign-in token, instructors by their password.

* A student's sign-in token is 32 random bytes (``secrets``), shown once in the link the
  instructor distributes and stored only as its SHA-256 (a slow hash buys nothing for a
  256-bit random secret). Every way a token can fail (unknown, malformed, replaced by a newer
  one) gives the same answer, so a guess learns nothing.
* Instructors' passwords are stored as argon2id hashes (argon2-cffi's defaults).
* A signed-in browser holds a session cookie signed by Starlette's ``SessionMiddleware``
  (itsdangerous): HttpOnly, SameSite=Lax, Secure when the service is behind TLS.
* ``submit()`` from a notebook sends the token as ``Authorization: Bearer``; such a request
  carries no cookie, so it needs no CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_BYTES = 32
_hasher = PasswordHasher()
#: Verified against when the username is unknown, so that case takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_CHARS = 10


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class Role(StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"


@dataclass(frozen=True)
class Viewer:
    """The signed-in person a request is from."""

    role: Role
    id: int  # service_person.id or service_instructor.id
    name: str
    student_id: str = ""  # students only

    @property
    def is_instructor(self) -> bool:
        return self.role is Role.INSTRUCTOR
