"""``--help`` in click's usual style: ``--host TEXT``, flags without a metavar, ``GRANT_ID`` in
the usage line, and text that wraps to the terminal instead of keeping the docstrings' line
breaks (paragraphs stay). Applied once to the whole command tree that typer builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import typer
from typer.core import TyperArgument

__all__ = ["plain_help"]

_CLICK_NAMES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "FLOAT", Path: "PATH"}


def _metavar(annotation: Any) -> str:
    """Click's name for a value of this type; a repeatable option's is its element's."""
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    return _CLICK_NAMES.get(annotation, getattr(annotation, "__name__", "VALUE").upper())


class _Argument(TyperArgument):
    """An argument shown as ``GRANT_ID`` in the usage line (typer writes ``{grant_id}``)."""

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        metavar = self.metavar or ""
        return [metavar if self.required else f"[{metavar}]"]

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name says it: no ``<str>`` beside it


def plain_help(command: Any) -> Any:
    """Give every parameter of ``command`` (a typer-built click command) and its subcommands a
    click-style metavar, and every command's help paragraphs and one-paragraph summary single
    lines; return ``command``."""
    for param in command.get_params(typer.Context(command)):
        if isinstance(param, TyperArgument):
            param.metavar = (param.metavar or param.name or "").upper()
            param.__class__ = _Argument
        elif param.is_flag or param.count:
            param.metavar = ""
        elif param.metavar is None:
            param.metavar = _metavar(param.type_descriptor.annotation)
    paragraphs = [" ".join(part.split()) for part in (command.help or "").split("\n\n")]
    command.help = "\n\n".join(paragraphs) or None
    command.short_help = paragraphs[0] or None
    for subcommand in getattr(command, "commands", {}).values():
        plain_help(subcommand)
    return command
