"""The factory `serve` runs in each worker: the app from the environment, with the objects that
live as long as the process frozen out of the garbage collector's full collections."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from i18n_connect.app import app_from_environment


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("I18N_CONNECT_DATABASE_URL", f"sqlite:///{tmp_path / 'factory.db'}")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    gc.unfreeze()  # the rest of the test session collects as usual
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_factory_freezes_what_it_built(environment: None) -> None:
    gc.unfreeze()
    app = app_from_environment()
    assert app.title == "i18n-connect partner API"
    assert gc.get_freeze_count() > 50_000  # routes, models, schemas: out of every collection
