"""The partner SDK is its own distribution, ``i18n-connect-client`` (``client/``): installed alone
in an empty virtual environment it imports, and brings httpx and nothing of the server.

Offline: the wheel is built with this environment's hatchling, and httpx with its own
dependencies is copied from this environment file by file, as its wheel installed them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

CLIENT = Path(__file__).resolve().parents[2] / "client"
REQUIRES = ["httpx>=0.27", "standardwebhooks>=1.0"]  # client/pyproject.toml
SERVER_PACKAGES = ("fastapi", "sqlalchemy", "asyncpg", "redis", "mcp", "uvicorn", "starlette")


def _closure(requirements: list[str]) -> set[str]:
    """The distributions these requirements pull in, as installed here (markers evaluated)."""
    environment: dict[str, str] = {**default_environment(), "extra": ""}
    found: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = requirement.name.lower()
        if name in found or (
            requirement.marker is not None and not requirement.marker.evaluate(environment)
        ):
            continue
        found.add(name)
        pending += [Requirement(text) for text in metadata.requires(name) or []]
    return found


def _copy_installed(name: str, site_packages: Path) -> None:
    """Copy the files an installed wheel put into site-packages (scripts left out)."""
    distribution = metadata.distribution(name)
    for file in distribution.files or []:
        if file.parts[0] == "..":
            continue
        target = site_packages / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(str(distribution.locate_file(file))), target)


def test_the_sdk_installs_alone_with_httpx_only(tmp_path: Path) -> None:
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index"),
            *("--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"), str(CLIENT)),
        ],
        check=True,
        timeout=60,
    )
    (wheel,) = (tmp_path / "dist").glob("i18n_connect_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # no i18n_connect/__init__.py: the server owns it
        packaged = {name.split("/")[0] + "/" + name.split("/")[1] for name in archive.namelist()}
    assert {name for name in packaged if not name.startswith("i18n_connect_client-")} == {
        "i18n_connect/client"
    }
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"),
            *("--no-index", "--no-deps", str(wheel)),
        ],
        check=True,
        timeout=60,
    )
    probe = [
        str(python),
        "-c",
        "import importlib.metadata as m, importlib.util as u, json\n"
        "import i18n_connect.client as c\n"
        "print(json.dumps({'requires': m.requires('i18n-connect-client'),"
        " 'version': m.version('i18n-connect-client'),"
        " 'has_client': hasattr(c, 'ConnectClient'),"
        f" 'server': [n for n in {SERVER_PACKAGES!r} if u.find_spec(n)],"
        " 'installed': sorted(d.metadata['Name'].lower() for d in m.distributions())}))",
    ]

    missing_httpx = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    assert missing_httpx.returncode == 1
    assert "No module named 'httpx'" in missing_httpx.stderr

    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
    )
    dependencies = _closure(["httpx>=0.27", "standardwebhooks>=1.0"])
    for name in dependencies:
        _copy_installed(name, site_packages)

    result = json.loads(subprocess.run(probe, capture_output=True, check=True, timeout=60).stdout)
    assert result["requires"] == REQUIRES
    assert result["version"] == "0.1.0"
    assert result["has_client"] is True
    assert result["server"] == []
    assert set(result["installed"]) == {"i18n-connect-client", *dependencies}
    assert not dependencies & {"fastapi", "sqlalchemy", "i18n-connect"}


def test_the_server_depends_on_the_sdk_and_not_the_reverse() -> None:
    server = metadata.requires("i18n-connect") or []
    assert any(Requirement(text).name == "i18n-connect-client" for text in server)
    assert metadata.requires("i18n-connect-client") == REQUIRES
