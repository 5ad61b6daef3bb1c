"""``python -m bench.transfer``: export and import of a 10,000-key project in JSON and XLIFF,
time and peak memory, each next to reading and writing the same file with the format's
library alone in the same run (see ``docs/performance.md``).

Export is the platform's read of every key and text plus rendering; import is parsing
plus writing every draft into a fresh project, in one transaction, on SQLite (or the
PostgreSQL URL given with ``--database-url``). Peak memory is traced Python allocations
(``tracemalloc``), so the ratios compare like with like.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lxml import etree

from i18n_connect.clock import SystemClock
from i18n_connect.formats import Options, get_format
from i18n_connect.platform import keys, projects, transfer, translations
from i18n_connect.platform.organizations import create_organization
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade
from i18n_connect.storage.tables import users

KEYS = 10_000
XLIFF_NS = "urn:oasis:names:tc:xliff:document:1.2"


def _texts(count: int) -> dict[str, str]:
    return {
        f"screen{n // 100}.item{n}": f"Übersetzung {n} mit {{name}} und %s ✓" for n in range(count)
    }


async def _measure(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Seconds and peak MiB of traced allocations of one run of ``work``."""
    tracemalloc.start()
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 2**20


def _library_json(texts: dict[str, str]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        body = (json.dumps(texts, ensure_ascii=False, indent=2) + "\n").encode()
        return json.loads(body.decode())

    return run


def _library_xliff(texts: dict[str, str]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        q = f"{{{XLIFF_NS}}}"
        root = etree.Element(q + "xliff", version="1.2")
        body = etree.SubElement(etree.SubElement(root, q + "file"), q + "body")
        for key, text in texts.items():
            unit = etree.SubElement(body, q + "trans-unit", id=key)
            etree.SubElement(unit, q + "source").text = key
            etree.SubElement(unit, q + "target").text = text
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        parsed = etree.fromstring(data)
        return [(u.get("id"), u[1].text) for u in parsed.iter(q + "trans-unit")]

    return run


async def _seed(services: Services, texts: dict[str, str]) -> list[projects.Project]:
    """A source project with the texts in German, and an empty project per format."""
    now = services.clock.now()
    async with services.db.transaction() as conn:
        await conn.execute(
            users.insert().values(
                id="usr_bench", email="b@example.com", name="B", password_hash="-", created_at=now
            )
        )
        org = await create_organization(
            conn, slug="bench", name="Bench", owner_user_id="usr_bench", now=now
        )
        made = []
        for slug in ("source", "json", "xliff"):
            made.append(
                await projects.create_project(
                    conn,
                    organization_id=org.id,
                    name=slug,
                    slug=slug,
                    source_language="en",
                    target_languages=("de",),
                    now=now,
                )
            )
        await keys.add_keys(conn, made[0].id, [(key, "") for key in texts], now)
        names = list(texts)
        for start in range(0, len(names), keys.MAX_BATCH):
            chunk = {name: texts[name] for name in names[start : start + keys.MAX_BATCH]}
            await translations.set_translations(conn, made[0].id, "de", chunk, now)
    return made


async def run(database_url: str) -> list[dict[str, Any]]:
    services = Services.build(
        Settings(database_url=database_url, issuer="http://127.0.0.1:8000", secret_key="b" * 32),
        clock=SystemClock(),
    )
    texts = _texts(KEYS)
    source, *targets = await _seed(services, texts)
    rows = []
    libraries = (("json", _library_json(texts)), ("xliff", _library_xliff(texts)))
    for (name, library), target in zip(libraries, targets, strict=True):
        fmt = get_format(name)
        options = Options(language="de", source_language="en")
        file: dict[str, bytes] = {}

        async def export(
            fmt: Any = fmt, options: Options = options, file: dict[str, bytes] = file
        ) -> None:
            async with services.db.transaction(readonly=True) as conn:
                entries = await transfer.export_entries(conn, source, "de")
            file["body"] = fmt.render(entries, options)

        async def import_(
            fmt: Any = fmt,
            options: Options = options,
            target: projects.Project = target,
            file: dict[str, bytes] = file,
        ) -> None:
            parsed = fmt.parse(file["body"], options)
            async with services.db.transaction() as conn:
                report = await transfer.import_entries(
                    conn,
                    target,
                    "de",
                    parsed,
                    mode="merge",
                    may_create_keys=True,
                    now=services.clock.now(),
                )
            assert len(report.created) == KEYS

        base_time, base_memory = await _measure(library)
        for action, work in (("export", export), ("import", import_)):
            seconds, memory = await _measure(work)
            rows.append(
                {
                    "format": name,
                    "action": action,
                    "seconds": round(seconds, 3),
                    "peak_mib": round(memory, 1),
                    "library_seconds": round(base_time, 3),
                    "library_peak_mib": round(base_memory, 1),
                    "time_ratio": round(seconds / base_time, 1),
                    "memory_ratio": round(memory / base_memory, 1),
                    "bytes": len(file["body"]),
                }
            )
    await services.db.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a migrated database (default: a fresh SQLite)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url
        if url is None:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
        for row in asyncio.run(run(url)):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
