"""What the sandbox holds between requests: its profiles, every request it was sent, the faults
it was told to answer with, its idempotency replays, its rate-limit windows and its webhooks."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.profiles import Obj, Profile, build_profiles
from bot.sandbox.webhooks import Webhooks


@dataclass
class Fault:
    """Answer the next `times` matching requests with `status` (or just wait `delay` first)."""

    status: int | None = None
    times: int = 1
    retry_after: float | None = None
    delay: float = 0.0
    method: str | None = None
    path_contains: str | None = None
    body: Obj | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class SandboxState:
    token: str = "sandbox-token"  # noqa: S105 - the sandbox's fixed public token
    latency: float = 0.0
    profiles: dict[str, Profile] = field(default_factory=build_profiles)
    requests: list[Recorded] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    idempotent: dict[str, tuple[int, Obj]] = field(default_factory=dict)
    patches_applied: int = 0
    applied: list[tuple[str, Obj]] = field(default_factory=list)  # (ticket id, body) of each real change
    created: list[tuple[str, Obj]] = field(default_factory=list)  # (ticket id, body) of each ticket made
    in_flight: int = 0
    rate_limit: tuple[int, float] | None = None  # (requests, seconds) per account, like the real API
    rate_limited: int = 0  # 429s given for the rate limit
    webhooks: Webhooks = field(default_factory=Webhooks)
    link_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # unused link tokens
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def over_limit(self, account: str) -> float:
        """0 when this request fits the account's budget, else the seconds to wait."""
        if self.rate_limit is None:
            return 0.0
        requests, seconds = self.rate_limit
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(account, deque())
            while hits and hits[0] <= now - seconds:
                hits.popleft()
            if len(hits) >= requests:
                self.rate_limited += 1
                return hits[0] + seconds - now
            hits.append(now)
            return 0.0

    def quiesce(self, timeout: float = 10.0) -> None:
        """Wait until no request is being answered (a slow answer can outlive its caller)."""
        deadline = time.monotonic() + timeout
        while (self.in_flight or self.webhooks.in_flight) and time.monotonic() < deadline:
            time.sleep(0.01)

    def reset(self) -> None:
        with self._lock:
            self.token = "sandbox-token"  # noqa: S105 - the sandbox's fixed public token
            self.latency = 0.0
            self.profiles = build_profiles()
            self.requests.clear()
            self.faults.clear()
            self.idempotent.clear()
            self.patches_applied = 0
            self.applied.clear()
            self.created.clear()
            self.webhooks.reset()
            self.link_tokens.clear()
            self.rate_limit = None
            self.rate_limited = 0
            self._hits.clear()

    def fail_next(self, status: int | None = None, **kwargs: Any) -> None:
        with self._lock:
            self.faults.append(Fault(status=status, **kwargs))

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def calls(self, method: str | None = None, path_contains: str = "") -> list[Recorded]:
        return [
            r
            for r in list(self.requests)
            if (method is None or r.method == method)
            and path_contains in r.path
            and not r.path.startswith("/_sandbox")
        ]

    def profile(self, integrated_account_id: str) -> Profile:
        return self.profiles[integrated_account_id]
