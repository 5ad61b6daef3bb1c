"""What a command prints: one JSON object or text on stdout, one ``error: …`` line on stderr.

Every error reads the same way, whichever layer wrote it: a lower-case start (names such as
``PKCE`` or ``I18N_CONNECT_…`` keep their case) and no full stop at the end
(docs/decisions.md, "One error style on the command line")."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any

import typer

__all__ = ["JsonOption", "emit", "error_line", "fail", "iso", "on_terminal"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def error_line(message: str) -> str:
    """``message`` in the command line's one error style (lower-case start, no full stop)."""
    first = message.split(" ", 1)[0]
    if first[:1].isupper() and (len(first) == 1 or first[1:].islower()):
        message = message[0].lower() + message[1:]
    if message.endswith(".") and not message.endswith(".."):
        message = message[:-1]
    return f"error: {message}"


def fail(message: str) -> typer.Exit:
    """Print the message to stderr, one ``error: …`` line per line, and return the exit to
    raise."""
    typer.echo("\n".join(map(error_line, message.splitlines() or [""])), err=True)
    return typer.Exit(code=1)


def emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, default=str) if as_json else text)


def on_terminal() -> bool:
    """Whether a person can answer a question: standard input is a terminal."""
    return sys.stdin.isatty()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
