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
import secrets
import time

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
