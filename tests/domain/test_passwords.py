"""Password rules: long, varied, not common, not the account's name; each refusal says which rule."""
from __future__ import annotations

import pytest

from tracker.domain.errors import FieldError
from tracker.domain.passwords import PasswordRefused, check_password, common_passwords


@pytest.mark.parametrize(("password", "rule", "words"), [
    ("password12", "too_common", "常見的密碼"),
    ("PassWord12", "too_common", "常見的密碼"),  # the list is compared case-insensitively
    ("qwertyuiop1", "too_common", "常見的密碼"),
    ("aaaaaaaaa1", "too_few_distinct", "5 個不同的字元"),
    ("a1a1a1a1a1", "too_few_distinct", "5 個不同的字元"),
    ("abcabcabc-", "too_few_distinct", "5 個不同的字元"),
    ("short-1", "too_short", "至少需 10 個字元"),
    ("", "too_short", "至少需 10 個字元"),
    ("onlyletterswords", "letters_or_digits_only", "字母與數字或符號"),
    ("9083712645", "letters_or_digits_only", "字母與數字或符號"),
    ("my-Chen.Wei-2024", "contains_name", "帳號名稱"),  # the account name, whatever its case
])
def test_weak_passwords_are_refused_naming_the_rule(password, rule, words):
    with pytest.raises(PasswordRefused) as refused:
        check_password(password, "chen.wei")
    assert refused.value.rule == rule
    assert words in refused.value.message
    assert refused.value.field == "password"
    assert isinstance(refused.value, FieldError)  # forms show it on the field


def test_good_passwords_pass():
    for password in ("correct-horse-42", "brand-new-pass-9", "藍色的山上的 42 號", "Tr4ck-the-budget"):
        check_password(password, "chen.wei")


def test_short_names_are_not_looked_for_in_the_password():
    check_password("correct-horse-42", "co")  # two letters: too many passwords would hold them
    with pytest.raises(PasswordRefused, match="帳號名稱"):
        check_password("correct-horse-42", "cor")


def test_the_field_is_the_one_given():
    with pytest.raises(PasswordRefused) as refused:
        check_password("password12", "lead", field="new_password")
    assert refused.value.field == "new_password"


def test_the_common_list_is_shipped_and_read_once():
    words = common_passwords()
    assert len(words) > 19_000
    assert "password12" in words and "correct-horse-42" not in words
    assert common_passwords() is words
