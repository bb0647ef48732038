"""Turn the desk's typed errors into messages a person reads in the page, never tracebacks."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import gradio as gr
from pydantic import ValidationError

from tools.errors import ConflictError, DeskError, ForbiddenError, InvalidInputError, NotFoundError, UnavailableError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_TITLES: dict[type[DeskError], str] = {
    NotFoundError: "Not found",
    ForbiddenError: "Not allowed",
    ConflictError: "Conflict",
    InvalidInputError: "Invalid input",
    UnavailableError: "Unavailable",
}


def title_of(exc: DeskError) -> str:
    for kind, title in _TITLES.items():
        if isinstance(exc, kind):
            return title
    return "Error"


def validation_message(exc: ValidationError) -> str:
    """One line per problem, naming the field, as a form expects."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        lines.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
    return "; ".join(lines)


def as_gradio_error(exc: Exception) -> gr.Error:
    """The modal shown for ``exc``; messages are escaped because Gradio renders them as HTML."""
    if isinstance(exc, DeskError):
        return gr.Error(html.escape(str(exc)), title=title_of(exc), print_exception=False)
    if isinstance(exc, ValidationError):
        return gr.Error(html.escape(validation_message(exc)), title="Invalid input", print_exception=False)
    return gr.Error("Something went wrong on the server; the details are in its log.", print_exception=False)


def shown(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap an async event handler so failures reach the person as a Gradio error modal."""

    @functools.wraps(fn)
    async def handler(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except gr.Error:
            raise
        except (DeskError, ValidationError) as exc:
            logger.info("UI action %s refused: %s", fn.__name__, exc)
            raise as_gradio_error(exc) from None
        except Exception as exc:
            # The top-level handler of a UI action: log it in full, show the person a plain sentence.
            logger.exception("UI action %s failed", fn.__name__)
            raise as_gradio_error(exc) from None

    return handler
