"""Errors that carry an HTTP status and a message for users (Spanish)."""

from __future__ import annotations


class KBError(Exception):
    """Base error: `user_message` is shown to people (Spanish), `str(self)` goes to logs."""

    status = 500

    def __init__(self, user_message: str, log_message: str | None = None):
        super().__init__(log_message or user_message)
        self.user_message = user_message


class InvalidInput(KBError):
    status = 400


class NotFound(KBError):
    status = 404


class Conflict(KBError):
    status = 409


class StoreError(KBError):
    status = 503


class EmbedderMismatch(KBError):
    status = 409


class IngestError(KBError):
    """A document could not be ingested; the rest of the batch is unaffected."""

    status = 422
