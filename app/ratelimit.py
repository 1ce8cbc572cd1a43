"""Rate limits against floods (forged webhooks, abusive clients), kept in each process's memory.

A moving window per (bucket, client) from the `limits` library. These limits shed load; they
guard no secret, so a per-process count (N processes allow N times as much) is acceptable.
Limits that protect secrets — failed logins — live in the database instead (accounts).
"""

from __future__ import annotations

import functools

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

_limiter = MovingWindowRateLimiter(MemoryStorage())


@functools.lru_cache(maxsize=64)
def _item(rate: str) -> RateLimitItem:
    # Parsed once per text: parsing took ~2 % of a server's GIL time under a webhook flood, where
    # every delivery asks (py-spy --gil). Items are immutable; the rates are a few settings.
    return parse(rate)


def exceeded(bucket: str, key: str, rate: str) -> bool:
    """True when `key` has used up `rate` (e.g. "30/minute") in `bucket`; counts nothing."""
    return not _limiter.test(_item(rate), bucket, key)


def hit(bucket: str, key: str, rate: str) -> None:
    """Count one event for `key` in `bucket`."""
    _limiter.hit(_item(rate), bucket, key)


def reset() -> None:
    """Forget every count (tests start clean)."""
    _limiter.storage.reset()
