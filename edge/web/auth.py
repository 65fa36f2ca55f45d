"""The page's password (stored as an scrypt hash, never in clear), its logged-in sessions, and the
limit on wrong passwords.

A session is a random id in an HttpOnly, SameSite=Strict cookie plus its own CSRF token, which every
change must send back (X-CSRF-Token); sessions live in memory, so a restart logs everybody out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

# scrypt's cost: 2**14 * 8 * 128 bytes = 16 MiB and ~50 ms per try; enough for a password on the LAN.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """'scrypt$N$r$p$salt$hash' (base64) for web.password_hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches a hash_password() line; False for any other line."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Sessions:
    """Logged-in sessions: id -> (CSRF token, expiry on the monotonic clock); thread-safe."""

    def __init__(self, lifetime_s: float) -> None:
        self.lifetime_s = lifetime_s
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[str, float]] = {}

    def create(self) -> tuple[str, str]:
        """A new session: (id for the cookie, CSRF token for the page)."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[sid] = (csrf, time.monotonic() + self.lifetime_s)
        return sid, csrf

    def csrf(self, sid: str | None) -> str | None:
        """The CSRF token of a live session, or None (no, unknown or expired session)."""
        with self._lock:
            entry = self._sessions.get(sid or "")
            if entry is None or entry[1] < time.monotonic():
                self._sessions.pop(sid or "", None)
                return None
            return entry[0]

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)


# How long a try waits while another try from the same address is still being checked.
BUSY_WAIT_S = 1.0


class LoginLimiter:
    """Wrong passwords per client address: the first `free` in a row cost nothing; from then on the
    address must wait before its next try, base_s after the first of them, doubling with each further
    wrong password, up to max_s. A right password clears the address. Thread-safe.

    One try at a time per address: `begin` reserves it and `end` releases it, so requests sent in
    parallel cannot all pass the check while the first wrong password is still being hashed.
    """

    def __init__(
        self, free: int = 5, base_s: float = 30.0, max_s: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.free, self.base_s, self.max_s, self.clock = free, base_s, max_s, clock
        self._lock = threading.Lock()
        self._wrong: dict[str, tuple[int, float]] = {}  # address -> (wrong passwords in a row, locked until)
        self._trying: set[str] = set()  # addresses whose try is being checked now

    def wait_s(self, address: str) -> float:
        """Seconds `address` must still wait before it may try a password (0: it may try now)."""
        with self._lock:
            return self._wait(address)

    def _wait(self, address: str) -> float:
        if address in self._trying:
            return BUSY_WAIT_S
        _, until = self._wrong.get(address, (0, 0.0))
        return max(0.0, until - self.clock())

    def begin(self, address: str) -> float:
        """Start a try from `address`: 0 when it may try now (call `end` after its `failed` or
        `succeeded`), else the seconds it must wait and nothing is reserved."""
        with self._lock:
            wait = self._wait(address)
            if not wait:
                self._trying.add(address)
            return wait

    def end(self, address: str) -> None:
        """The try `begin` allowed is over (whatever its outcome)."""
        with self._lock:
            self._trying.discard(address)

    def failed(self, address: str) -> None:
        """`address` sent a wrong password."""
        with self._lock:
            now = self.clock()
            if len(self._wrong) > 10_000:  # forget the addresses no longer locked (memory bound)
                self._wrong = {a: entry for a, entry in self._wrong.items() if entry[1] > now}
            count = self._wrong.get(address, (0, 0.0))[0] + 1
            wait = min(self.max_s, self.base_s * 2 ** (count - self.free)) if count >= self.free else 0.0
            self._wrong[address] = (count, now + wait)

    def succeeded(self, address: str) -> None:
        """`address` sent the right password: its count starts again."""
        with self._lock:
            self._wrong.pop(address, None)
