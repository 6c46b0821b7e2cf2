"""Discount codes a send step gives its contact: drawn from a pool the shop imported, or made up here.

A step's code is issued once per enrollment and step (the scheduler keys it in PostgreSQL), so a retry or
a replayed request carries the same code. Pure: randomness is passed in, the time is an argument.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .contact import Event
from .durations import Duration

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
POOL_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Letters and digits a reader cannot mistake for one another (no 0/O, 1/I/L).
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RANDOM_LENGTH = 10  # 31**10: about 8e14 codes per prefix, so guessing one is hopeless
LONGEST_EXPIRY = timedelta(days=366)


class Generated(BaseModel):
    """A code made up for the contact: `PREFIX-` and random letters, valid for `expires_in`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str = Field(pattern=r"^[A-Z0-9]{1,20}$", description="Upper-case letters and digits, e.g. BACK")
    expires_in: Duration = Field(description="How long the code is valid after it is issued, e.g. 14d")

    @model_validator(mode="after")
    def _sensible_expiry(self) -> Generated:
        if not timedelta(hours=1) <= self.expires_in <= LONGEST_EXPIRY:
            raise ValueError("a generated coupon's expires_in must be between 1h and 366d")
        return self


class CouponRule(BaseModel):
    """Where a send step's discount code comes from: `pool: spring`, `generate: {prefix, expires_in}`, or
    `from_step: offer` (the code an earlier step of the same enrollment gave, for a reminder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool: str | None = Field(
        default=None, pattern=POOL_PATTERN, description="A pool imported with `dripline coupons import`"
    )
    generate: Generated | None = None
    from_step: str | None = Field(
        default=None, min_length=1, description="A send step whose code this message shows again (a reminder)"
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> CouponRule:
        if sum(source is not None for source in (self.pool, self.generate, self.from_step)) != 1:
            raise ValueError(
                "a coupon needs exactly one of pool (e.g. pool: spring), generate (e.g. generate: "
                "{prefix: BACK, expires_in: 14d}) or from_step (the step whose code to show again)"
            )
        return self

    @property
    def source(self) -> str:
        """How simulations and reasons name it: `pool spring`, `generated BACK` or `of step offer`."""
        if self.pool is not None:
            return f"pool {self.pool}"
        return f"generated {self.generate.prefix}" if self.generate else f"of step {self.from_step}"

    def missing_reason(self) -> str:
        """Why a step had no code to give: its pool is empty, or the step it repeats gave none."""
        if self.from_step is not None:
            return f"no coupon was issued at step '{self.from_step}' to show again"
        return (
            f"coupon pool '{self.pool}' has no codes left; import more with `dripline coupons import {self.pool} FILE`"
        )


@dataclass(frozen=True, slots=True)
class Coupon:
    """A code issued to one contact at one step."""

    code: str
    expires_at: datetime | None = None
    pool: str | None = None

    def template_value(self) -> dict[str, Any]:
        """`coupon` as a message's Liquid sees it; a pool code without expiry has no `expires_at`."""
        found: dict[str, Any] = {"code": self.code}
        if self.expires_at is not None:
            found["expires_at"] = self.expires_at.isoformat()
        return found


def generate_code(prefix: str, choose: Callable[[str], str] = secrets.choice) -> str:
    """`PREFIX-XXXXXXXXXX`, its random part from `choose` (the `secrets` module's, unguessable)."""
    return f"{prefix}-{''.join(choose(ALPHABET) for _ in range(RANDOM_LENGTH))}"


def generated(rule: Generated, now: datetime, choose: Callable[[str], str] = secrets.choice) -> Coupon:
    return Coupon(code=generate_code(rule.prefix, choose), expires_at=now + rule.expires_in)


def redeemed_codes(event: Event) -> tuple[str, ...]:
    """The discount codes a purchase event names (`discount_codes`), trimmed, each once; none for other events."""
    found = event.data.get("discount_codes") if event.type == "purchase" else None
    if not isinstance(found, list):
        return ()
    codes = (code.strip() for code in found if isinstance(code, str))
    return tuple(dict.fromkeys(code for code in codes if code))


@dataclass(frozen=True, slots=True)
class PoolFile:
    """The codes of a pool file, each once, and the file's problems (line, reason)."""

    codes: tuple[tuple[str, datetime | None], ...]
    problems: tuple[tuple[int, str], ...]


def _expiry(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    at = datetime.fromisoformat(text.strip())
    if at.tzinfo is None:
        raise ValueError(f"'{text}' has no time zone; write it like 2026-06-30T23:59:00+02:00")
    return at


def read_pool_file(text: str) -> PoolFile:
    """A pool CSV: a `code` column (or a lone column of codes), optionally `expires_at` (ISO 8601 with zone)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return PoolFile((), ((1, "the file is empty"),))
    header = [name.strip().lower() for name in rows[0]]
    named = "code" in header
    code_at = header.index("code") if named else 0
    expiry_at = header.index("expires_at") if "expires_at" in header else None
    codes: dict[str, datetime | None] = {}
    problems: list[tuple[int, str]] = []
    for line, row in enumerate(rows[1:] if named else rows, start=2 if named else 1):
        if not any(cell.strip() for cell in row):
            continue
        code = row[code_at].strip() if code_at < len(row) else ""
        if not re.match(CODE_PATTERN, code):
            problems.append((line, f"'{code}' is not a code: letters, digits, - and _, at most 64"))
            continue
        try:
            codes.setdefault(code, _expiry(row[expiry_at] if expiry_at is not None and expiry_at < len(row) else None))
        except ValueError as error:
            problems.append((line, str(error)))
    if not codes and not problems:
        problems.append((1, "the file holds no codes"))
    return PoolFile(tuple(codes.items()), tuple(problems))


def chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
