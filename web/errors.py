"""Web-only errors; like every KBError they carry their HTTP status and a Spanish message."""

from __future__ import annotations

from search.errors import KBError


class NotAuthenticated(KBError):
    status = 401


class Forbidden(KBError):
    status = 403


class PayloadTooLarge(KBError):
    status = 413


class CurationDisabled(KBError):
    status = 403
