"""Typed errors with messages a caller (a person or a model) can act on."""

from __future__ import annotations


class DeskError(Exception):
    """Base class: the message says what went wrong and what to do instead."""


class NotFoundError(DeskError):
    """The named thing does not exist (or the caller may not know that it does)."""


class ForbiddenError(DeskError):
    """The caller's role does not allow this action."""


class ConflictError(DeskError):
    """The thing changed since the caller read it, or the change clashes with stored data."""


class InvalidInputError(DeskError):
    """An argument is malformed, out of range, or not allowed in the current state."""


class UnavailableError(DeskError):
    """A dependency the call needs (OCR engine, speech model, vector index) is not available."""
