"""Password rules (密碼規則): long enough, varied enough, not common, not the account's own name."""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

from tracker.domain.errors import FieldError

#: The shortest password kept.
MIN_LENGTH = 10
#: The fewest different characters a password may have (refuses aaaaaaaaa1 and a1a1a1a1a1).
MIN_DISTINCT_CHARACTERS = 5
#: Account names shorter than this are not looked for inside the password (too many false hits).
MIN_NAME_LENGTH_CHECKED = 3
#: Django's list of the 20,000 most common passwords (BSD licence); see tracker/data/README.md.
COMMON_PASSWORDS_PATH = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"


class PasswordRefused(FieldError):
    """A password that breaks a rule; ``rule`` names which, ``message`` says it in words."""

    def __init__(self, field: str, rule: str, message: str):
        #: too_short, too_few_distinct, letters_or_digits_only, contains_name or too_common
        self.rule = rule
        super().__init__(field, message)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common-password list, lowercased; read once, on first use."""
    with gzip.open(COMMON_PASSWORDS_PATH, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def check_password(password: str, name: str | None = None, field: str = "password") -> None:
    """Refuse a password that breaks a rule, saying which; ``name`` is the account it is for."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(field, "too_short", f"密碼至少需 {MIN_LENGTH} 個字元")
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        raise PasswordRefused(field, "too_few_distinct",
                              f"密碼至少需包含 {MIN_DISTINCT_CHARACTERS} 個不同的字元（不可只重複少數幾個字元）")
    if password.isdigit() or password.isalpha():
        raise PasswordRefused(field, "letters_or_digits_only", "密碼須同時包含字母與數字或符號")
    name = (name or "").strip()
    if len(name) >= MIN_NAME_LENGTH_CHECKED and name.casefold() in password.casefold():
        raise PasswordRefused(field, "contains_name", "密碼不可包含帳號名稱")
    if password.strip().lower() in common_passwords():
        raise PasswordRefused(field, "too_common", "這是常見的密碼（列於常見密碼清單），請另選一個不易猜到的密碼")
