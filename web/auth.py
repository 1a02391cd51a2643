"""Curator authentication: PBKDF2 password hashes, signed session cookies and CSRF tokens.

Standard library only (hashlib, hmac, secrets): `itsdangerous` is not a dependency, and the
whole scheme is small enough to read in one sitting.

Print a hash for KB_CURATOR_PASSWORD_HASH with:  python -m web.auth
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections import deque

ALGORITHM = "pbkdf2_sha256"
# OWASP 2023 recommendation for PBKDF2-HMAC-SHA256.
DEFAULT_ITERATIONS = 600_000

SESSION_COOKIE = "kb_sesion"
LOGIN_CSRF_COOKIE = "kb_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE = 8 * 3600  # a working day; the curator signs in again afterwards


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"), iterations)
    return f"{ALGORITHM}${iterations}${salt}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of `password` against a stored hash; malformed hashes never match."""
    try:
        algorithm, iterations, salt, expected = encoded.split("$")
        rounds = int(iterations)
    except (ValueError, AttributeError):
        return False
    if algorithm != ALGORITHM or not 1 <= rounds <= 10_000_000:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"), rounds)
    return hmac.compare_digest(digest.hex(), expected)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """HMAC-SHA256 signed, JSON-carrying tokens with an expiry (the session cookie's value)."""

    def __init__(self, secret: str):
        self._key = hashlib.sha256(("kb-vbg-session|" + secret).encode("utf-8")).digest()

    def _sig(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def sign(self, data: dict, max_age: int = SESSION_MAX_AGE) -> str:
        body = _b64(json.dumps(data | {"exp": int(time.time()) + max_age}, separators=(",", ":")).encode())
        return f"{body}.{self._sig(body)}"

    def unsign(self, token: str | None) -> dict | None:
        """The data if the signature is valid and not expired, else None."""
        if not token or token.count(".") != 1:
            return None
        body, sig = token.split(".")
        try:
            if not hmac.compare_digest(sig, self._sig(body)):
                return None
            data = json.loads(_unb64(body))
        except (ValueError, UnicodeError):
            return None
        if not isinstance(data, dict) or int(data.get("exp", 0)) < time.time():
            return None
        return data


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


# ---------------------------------------------------------------- sign-in throttling

MAX_FAILURES = 5  # failed sign-ins allowed per client and per user name within the window
FAILURE_WINDOW = 15 * 60  # seconds a failure counts against its keys
FIRST_LOCKOUT = 60  # seconds; doubles with every further failure, up to the window
MAX_TRACKED_KEYS = 10_000  # bounded memory under a flood of distinct names or addresses


class LoginThrottle:
    """Counts failed sign-ins per client address and per submitted user name.

    Once a key has MAX_FAILURES failures within FAILURE_WINDOW it is locked: FIRST_LOCKOUT
    seconds after its last failure, doubling with each failure beyond that (capped at the
    window). While locked, sign-in is refused before the password is even checked. A successful
    sign-in clears both of its keys. Per-name counting stops a guesser spread over many
    addresses; per-address counting stops one guesser trying many names. State is in memory,
    per process, like the jobs: a restart forgets it.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(client: str, user: str) -> tuple[str, str]:
        return f"ip:{client or '?'}", "user:" + user.strip().casefold()[:200]

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        while times and times[0] <= now - FAILURE_WINDOW:
            times.popleft()
        if times is not None and not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, *keys: str) -> int:
        """Seconds until sign-in may be tried again with these keys (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if times and len(times) >= MAX_FAILURES:
                    lockout = min(FAILURE_WINDOW, FIRST_LOCKOUT * 2 ** (len(times) - MAX_FAILURES))
                    wait = max(wait, times[-1] + lockout - now)
        return max(0, math.ceil(wait))

    def failure(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED_KEYS:
                for key in list(self._failures):
                    self._recent(key, now)  # drops keys whose failures all expired
                while len(self._failures) >= MAX_TRACKED_KEYS:
                    self._failures.pop(next(iter(self._failures)))  # oldest key first
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=64)).append(now)

    def success(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def throttle_for(app) -> LoginThrottle:
    """The app's throttle, created on first use (one per app instance)."""
    throttle = getattr(app.state, "login_throttle", None)
    if throttle is None:
        throttle = app.state.login_throttle = LoginThrottle()
    return throttle


def wait_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    when = f"{seconds} segundos" if seconds < 60 else ("1 minuto" if minutes == 1 else f"{minutes} minutos")
    return (f"Demasiados intentos fallidos de acceso. Por seguridad, espere {when} antes de volver a intentarlo.")


def main() -> None:
    import getpass
    import sys

    password = getpass.getpass("Contraseña de curaduría: ")
    if len(password) < 10:
        print("La contraseña debe tener al menos 10 caracteres.", file=sys.stderr)
        raise SystemExit(2)
    if getpass.getpass("Repita la contraseña: ") != password:
        print("Las contraseñas no coinciden.", file=sys.stderr)
        raise SystemExit(2)
    print(hash_password(password))
    print("Guárdelo en KB_CURATOR_PASSWORD_HASH (entre comillas simples en la shell).", file=sys.stderr)


if __name__ == "__main__":
    main()
