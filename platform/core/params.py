"""Parsing numbers from query strings and paths with bounds, shared by every endpoint.

Python's int() takes any number of digits and float() takes "inf" and "nan": values a database
column, an image buffer or a SQL OFFSET cannot hold. Each helper here raises ValueError with a
reason a client can act on; callers turn it into their 400 (DRF or DICOMweb).
"""

from __future__ import annotations

import math

# A database row id (PostgreSQL bigint, SQLite INTEGER): 64-bit signed.
MAX_DATABASE_ID = 2**63 - 1
# The deepest paging any list endpoint allows: far beyond any real result set, well inside bigint.
MAX_OFFSET = 1_000_000_000


def bounded_int(raw: str, name: str, *, minimum: int, maximum: int) -> int:
    """An integer written in decimal digits within [minimum, maximum]."""
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    # A length check before int(): a 10,000-digit string is refused without converting it.
    if not digits.isdigit() or len(digits) > len(str(maximum)) + 1:
        raise ValueError(f"{name} must be an integer from {minimum} to {maximum}, got {raw!r}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be from {minimum} to {maximum}, got {value}")
    return value


def finite_numbers(raw: str, name: str) -> list[float]:
    """Comma-separated finite numbers (no inf, no nan)."""
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError as exc:
        raise ValueError(f"{name} must be comma-separated numbers, got {raw!r}") from exc
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be finite numbers, got {raw!r}")
    return values
