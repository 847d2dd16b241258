"""Talking to a channel's API within its limits.

Every request waits its turn (`Pace`: at most the connection's requests per second, evenly spaced), has
explicit timeouts, and is retried a bounded number of times: a 429 waits what its `Retry-After` says
(and holds every later request of this client back as long), a 5xx or a network error waits with
exponential backoff. What is still failing after REQUEST_TRIES_MAX, or would run past the run's
deadline, is `ChannelUnavailable`: the job records it and arq tries the whole run again later. An
answer that will not change by asking again (401, 403, 404, 400) is `ChannelRefused`.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
import msgspec
import structlog

from backend.domain.errors import DomainError

log = structlog.get_logger("stockline.channels")
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
POOL_TIMEOUT_S = 10.0
CONNECTIONS_MAX = 4
REQUEST_TRIES_MAX = 6
RETRY_AFTER_S_MAX = 60.0  # a channel asking for a longer pause gets it from the job's own retry
BACKOFF_S_BASE = 0.5
BACKOFF_S_MAX = 8.0
ERROR_BODY_CHARS_MAX = 300
T = TypeVar("T")


class ChannelUnavailable(Exception):
    """The channel did not answer usefully in time (5xx, 429 for too long, timeouts): try later."""


class ChannelRefused(DomainError):
    """The channel refused the request itself (credentials, a bad request): asking again will not help."""

    code = "channel_refused"


@dataclass(slots=True)
class Traffic:
    requests: int = 0
    throttled: int = 0  # 429 (or Shopify's THROTTLED) answers
    retried: int = 0  # requests sent again after a 5xx or a network error
    waited_s: float = 0.0  # time spent waiting on Retry-After and backoff


class Pace:
    """At most `per_s` requests a second, evenly spaced; none before a Retry-After has passed."""

    def __init__(self, per_s: float) -> None:
        assert per_s > 0
        self.interval_s = 1.0 / per_s
        self.next_at = 0.0

    async def turn(self, deadline: float) -> None:
        now = time.monotonic()
        at = max(now, self.next_at)
        if at > deadline:
            raise ChannelUnavailable("out of time for this run; the rest goes in the next one")
        self.next_at = at + self.interval_s
        if at > now:
            await asyncio.sleep(at - now)

    def hold_off(self, seconds: float) -> None:
        self.next_at = max(self.next_at, time.monotonic() + seconds)


def retry_after_s(response: httpx.Response, attempt: int) -> float:
    """Seconds a 429 asks us to wait: `Retry-After` in seconds or as an HTTP date; else a growing guess."""
    raw = response.headers.get("retry-after", "").strip()
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    return float(attempt)


def backoff_s(attempt: int) -> float:
    return min(BACKOFF_S_MAX, BACKOFF_S_BASE * 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)


class ChannelHttp:
    def __init__(self, base_url: str, *, slug: str, requests_per_s: float, deadline: float,
                 headers: dict[str, str] | None = None, auth: httpx.Auth | tuple[str, str] | None = None) -> None:
        self.slug = slug
        self.deadline = deadline
        self.pace = Pace(requests_per_s)
        self.traffic = Traffic()
        self._client = httpx.AsyncClient(
            base_url=base_url, headers=headers, auth=auth, follow_redirects=False,
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S, pool=POOL_TIMEOUT_S),
            limits=httpx.Limits(max_connections=CONNECTIONS_MAX, max_keepalive_connections=CONNECTIONS_MAX))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _wait(self, seconds: float) -> None:
        if time.monotonic() + seconds > self.deadline:
            raise ChannelUnavailable(f"{self.slug} asked us to wait {seconds:.0f} s, past this run's time")
        self.traffic.waited_s += seconds
        await asyncio.sleep(seconds)

    def throttled(self, seconds: float) -> None:
        """The channel said 'too many requests': hold every request back for `seconds`."""
        self.traffic.throttled += 1
        if seconds > RETRY_AFTER_S_MAX:
            raise ChannelUnavailable(f"{self.slug} asks for a {seconds:.0f} s pause")
        if time.monotonic() + seconds > self.deadline:
            raise ChannelUnavailable(f"{self.slug} asked us to wait {seconds:.0f} s, past this run's time")
        self.traffic.waited_s += seconds
        self.pace.hold_off(seconds)
        log.info("channel.throttled", channel=self.slug, wait_s=round(seconds, 2))

    async def send(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                   ) -> httpx.Response:
        last = ""
        for attempt in range(1, REQUEST_TRIES_MAX + 1):
            await self.pace.turn(self.deadline)
            self.traffic.requests += 1
            try:
                response = await self._client.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                last = f"{type(exc).__name__}"
                self.traffic.retried += 1
                await self._wait(backoff_s(attempt))
                continue
            if response.status_code == 429:
                last = "429 Too Many Requests"
                self.throttled(retry_after_s(response, attempt))
                continue
            if response.status_code >= 500:
                last = f"{response.status_code} {response.reason_phrase}"
                self.traffic.retried += 1
                log.warning("channel.retry", channel=self.slug, status=response.status_code, attempt=attempt)
                await self._wait(backoff_s(attempt))
                continue
            if response.status_code >= 400:
                raise ChannelRefused(f"{self.slug} refused {method} {path}: {response.status_code} "
                                     f"{response.text[:ERROR_BODY_CHARS_MAX]}")
            return response
        raise ChannelUnavailable(f"{self.slug}: {method} {path} failed {REQUEST_TRIES_MAX} times (last: {last})")


def decode(response: httpx.Response, shape: type[T]) -> T:
    """The channel's JSON as a typed struct; an answer of another shape is refused, not guessed at."""
    try:
        return msgspec.json.decode(response.content, type=shape)
    except msgspec.ValidationError as exc:
        raise ChannelRefused(f"unexpected answer from the channel ({exc}): "
                             f"{response.text[:ERROR_BODY_CHARS_MAX]}") from exc
    except msgspec.DecodeError as exc:
        raise ChannelUnavailable(f"the channel's answer was not JSON: {response.text[:ERROR_BODY_CHARS_MAX]}") from exc
