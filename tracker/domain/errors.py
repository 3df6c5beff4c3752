"""Refusals that name the input at fault, so a form or an API can show them on that field."""
from __future__ import annotations


class FieldError(ValueError):
    """A refused input; ``field`` names it and ``message`` says why, in words for the user."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
