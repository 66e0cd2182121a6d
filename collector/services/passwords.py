"""The password rule: long, not the username, not a common password; and one-time passwords.

The common passwords are the 30,000 most frequent of the "10 million passwords" corpus as shipped by
zxcvbn-python 4.5.0 (MIT; ``collector/data/LICENSE-common-passwords.txt``), lower-cased, one a line.
A common password with digits or punctuation added at the end (``password-123``, ``iloveyou2025!``) is
still common: guessers try those variants first.
"""

from __future__ import annotations

import re
import secrets
from functools import cache
from importlib import resources

from collector.services.errors import ServiceError

MIN_LENGTH = 12
MAX_LENGTH = 1024
# A username this short would forbid half of all passwords without making any of them stronger.
MIN_USERNAME_CHECKED = 3
_TRAILING_NOISE = re.compile(r"[\W\d_]+$")


class PasswordRejected(ServiceError):
    """A password the rule refuses; ``code`` says which part (too_short, too_long, username, common)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@cache
def common_passwords() -> frozenset[str]:
    text = (resources.files("collector") / "data" / "common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def is_common(password: str) -> bool:
    lowered = password.strip().lower()
    base = _TRAILING_NOISE.sub("", lowered)
    listed = common_passwords()
    return lowered in listed or (len(base) >= 4 and base in listed)


def check_password(password: str, *, username: str) -> None:
    """Raise ``PasswordRejected`` saying what is wrong; return quietly when the password may be used."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected("too_short", f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("too_long", f"the password may have at most {MAX_LENGTH} characters")
    name = username.strip().lower()
    if len(name) >= MIN_USERNAME_CHECKED and name in password.lower():
        raise PasswordRejected("username", "the password must not contain the username")
    if is_common(password):
        raise PasswordRejected(
            "common", "this password is in the list of common passwords that attackers try first"
        )


def one_time_password(*, username: str) -> str:
    """A random password for an administrator's reset (about 96 bits), acceptable by the rule."""
    while True:
        candidate = secrets.token_urlsafe(12)
        try:
            check_password(candidate, username=username)
        except PasswordRejected:
            continue
        return candidate
