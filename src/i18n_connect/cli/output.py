"""What a command prints: one JSON object or text on stdout, one ``error: …`` line on stderr."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

__all__ = ["JsonOption", "emit", "fail", "iso"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def fail(message: str) -> typer.Exit:
    """Print the message to stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, default=str) if as_json else text)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
