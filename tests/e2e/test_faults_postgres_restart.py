"""PostgreSQL restarted under load (SPEC §8): while the database is down, requests fail
fast with 503 ``temporarily_unavailable`` and a JSON body — never a stack trace — and once
it is back the server recovers by itself, without a restart.

The test runs its own private PostgreSQL cluster (``initdb`` + ``pg_ctl`` in a temporary
directory, on a free port, as the ``postgres`` OS user) so that restarting it disturbs
nothing else.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from multiprocess_support import Seed, ServerProcess, free_port, fresh_postgres

pytestmark = pytest.mark.timeout(90)

DOWN_SECONDS = 2.0
FAIL_FAST_SECONDS = 2.0
RECOVERY_SECONDS = 15.0


@dataclass
class PrivatePostgres:
    bindir: Path
    data: Path
    port: int

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                *args,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.ctl("-o", options, "-l", str(self.data / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "-w", "stop")


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found or shutil.which("runuser") is None or os.geteuid() != 0:
        _skip_or_fail("a private PostgreSQL needs initdb, runuser and root (to act as postgres)")
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        _skip_or_fail("no postgres OS user to run a private PostgreSQL")
    data = Path(tempfile.mkdtemp(prefix="i18n-pg-"))
    os.chown(data, account.pw_uid, account.pw_gid)
    bindir = Path(found[-1]).parent
    initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *initdb],
        check=True,
        capture_output=True,
        timeout=60,
    )
    cluster = PrivatePostgres(bindir, data, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        finally:
            shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def private_database(private_postgres: PrivatePostgres) -> Iterator[str]:
    """A migrated database on the private cluster."""
    with fresh_postgres(private_postgres.admin_url) as url:
        yield url


@dataclass
class Answer:
    at: float
    status: int | None  # None: no HTTP answer at all
    duration: float
    body: str


async def _load(
    url: str, path: str, token: str, stop: asyncio.Event, answers: list[Answer]
) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = await client.get(path, headers={"authorization": f"Bearer {token}"})
                status, body = response.status_code, response.text
            except httpx.TransportError as exc:
                status, body = None, repr(exc)
            answers.append(Answer(started, status, time.monotonic() - started, body))
            await asyncio.sleep(0.02)


async def test_a_postgres_restart_under_load_is_503_json_then_recovers(
    private_postgres: PrivatePostgres, private_database: str, tmp_path: Path
) -> None:
    url = private_database
    server = ServerProcess(url, tmp_path)
    seed = await Seed.create(url, server.url)
    try:
        token = (await seed.installation_token(await seed.grant())).token
    finally:
        await seed.close()
    path = f"/api/oauth-client/v1/projects/{seed.project_id}"
    server.start()
    try:
        stop = asyncio.Event()
        answers: list[Answer] = []
        load = [
            asyncio.create_task(_load(server.url, path, token, stop, answers)) for _ in range(4)
        ]
        await asyncio.sleep(1.0)
        stopping_at = time.monotonic()
        await asyncio.to_thread(private_postgres.stop)
        down_at = time.monotonic()
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(private_postgres.start)
        up_at = time.monotonic()
        deadline = up_at + RECOVERY_SECONDS
        while time.monotonic() < deadline:  # until a run of successes after the restart
            recent = [a for a in answers if a.at > up_at][-10:]
            if len(recent) == 10 and all(a.status == 200 for a in recent):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*load)
    finally:
        server.stop()

    assert server.process is not None and server.process.returncode in (0, -15)
    timeline = [(round(a.at - down_at, 2), a.status, round(a.duration, 2)) for a in answers]
    assert {a.status for a in answers} <= {200, 503}, [a.body for a in answers if a.status != 200]
    # answered before the stop began: the database was up for the whole request
    before = [a for a in answers if a.at + a.duration < stopping_at]
    assert before and all(a.status == 200 for a in before), timeline
    failures = [a for a in answers if a.status == 503]
    assert failures, "no request was made while PostgreSQL was down"
    for answer in failures:
        assert answer.duration < FAIL_FAST_SECONDS, timeline
        assert '"error":"temporarily_unavailable"' in answer.body.replace(" ", "")
        assert "Traceback" not in answer.body
    recovered = [a for a in answers if a.at > up_at][-10:]
    assert len(recovered) == 10 and all(a.status == 200 for a in recovered), timeline
    assert "Traceback" not in server.log()
