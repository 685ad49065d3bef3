"""URL path converters. `id` is `int` limited to what a database key can hold: Django's own
`int` matches any run of digits, and a 40-digit id reached the database and failed there
(bigint out of range: a 500). Here it does not match, so the URL answers 404 like any id
that does not exist."""

from __future__ import annotations

from django.urls import register_converter


class DatabaseId:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > 2**63 - 1:
            raise ValueError("out of range")  # Django answers 404: the pattern does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def register() -> None:
    register_converter(DatabaseId, "id")
