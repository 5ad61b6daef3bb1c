"""Every command's ``--help``, walked from the command tree: an Example line, click's usual
metavars (``--host TEXT``, nothing after a flag, ``GRANT_ID``), and command lists whose
summaries are not broken where the docstring's lines were."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from i18n_connect.cli import command as root


def _commands(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node
    for name, child in getattr(node, "commands", {}).items():
        yield from _commands(child, (*path, name))


COMMANDS = list(_commands(root))
LEAVES = [(path, node) for path, node in COMMANDS if not getattr(node, "commands", None)]
GROUPS = [(path, node) for path, node in COMMANDS if getattr(node, "commands", None)]


def _id(value: object) -> str:
    return " ".join(value) if isinstance(value, tuple) else ""


def _help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    assert root.main([*path, "--help"], prog_name="i18n-connect", standalone_mode=False) == 0
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")


def test_the_walk_finds_every_group_and_command() -> None:
    assert len(LEAVES) >= 20
    assert {("users", "create"), ("users", "list"), ("grants", "list"), ("serve",)} <= {
        path for path, _ in LEAVES
    }


@pytest.mark.parametrize(("path", "node"), LEAVES, ids=_id)
def test_help_has_an_example_and_plain_metavars(
    path: tuple[str, ...], node: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(path, capsys)
    assert re.search(rf"Example: (\S+=\S+ )*i18n-connect {re.escape(' '.join(path))}\b", text)
    assert not re.search(r"<(str|bool|int|float)|\{\w+\}", text), text
    arguments = [param.metavar for param in node.params if param.param_type_name == "argument"]
    if arguments:
        assert f"Usage: i18n-connect {' '.join(path)} [OPTIONS] {' '.join(arguments)}" in text
    for param in node.params:
        name = param.opts[0] if param.opts else ""
        if param.param_type_name == "argument":
            continue
        if param.is_flag:
            assert re.search(rf"{name}\s+[A-Z][a-z]", text), f"{name} shows a metavar"
        else:
            assert re.search(rf"{name}\s+[A-Z_]+\b", text), f"{name} has no metavar"


def test_serve_shows_click_style_metavars(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(("serve",), capsys)
    assert re.search(r"--host\s+TEXT\s", text)
    assert re.search(r"--port\s+INTEGER\s", text)
    assert re.search(r"--help\s+Show this message", text)


@pytest.mark.parametrize(("path", "node"), GROUPS, ids=_id)
def test_command_lists_keep_each_summary_on_one_line(
    path: tuple[str, ...], node: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(path, capsys)
    for name, child in node.commands.items():
        assert "\n" not in child.short_help
        assert re.search(rf"│ {re.escape(name)}\s+{re.escape(child.short_help)}\s+│", text), name
