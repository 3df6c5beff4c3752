"""Money and numbers as users read and type them: NT$ thousands with separators, Decimal throughout."""
from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation


def format_money(value) -> str:
    """NT$ thousands with separators (「1,234,567」); decimals only where there are any; 「—」 for none."""
    if value is None:
        return "—"
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):,}"
    return f"{value.normalize():,}"


def format_whole_money(value) -> str:
    """NT$ thousands rounded to a whole number, with separators (「1,234,568」); 「—」 for none."""
    if value is None:
        return "—"
    return f"{Decimal(value).quantize(Decimal(1)):,}"


def format_amount(value: Decimal) -> str:
    """An amount with thousands separators and no trailing zeros: 1,234,567.5."""
    return format(value.normalize(), ",f")


def parse_number(text: str | None, max_length: int = 40) -> Decimal | None:
    """A number as typed: full-width digits allowed, thousands commas and % signs dropped; None if it is no
    number (or longer than max_length characters, which no amount or percentage is). Infinity and NaN are
    returned as such: the caller's range check refuses them with its own words."""
    cleaned = unicodedata.normalize("NFKC", text or "").replace(",", "").replace("%", "").strip()
    if not cleaned or len(cleaned) > max_length:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value
