"""SQLite's WAL checkpoints, on a thread of their own (see `Database`)."""

from __future__ import annotations

import sqlite3
import threading

__all__ = ["WAL_AUTOCHECKPOINT_PAGES", "Checkpointer"]

# SQLite's own checkpoint, run by the commit that grows the WAL past this many pages
# (``PRAGMA wal_autocheckpoint`` of every connection): the fallback for when the thread
# falls behind.
WAL_AUTOCHECKPOINT_PAGES = 10_000


class Checkpointer:
    """Runs SQLite's WAL checkpoints on a thread of their own, off the request path.

    By default the commit that grows the WAL past 1,000 pages copies them into the
    database file itself: about one write request in a hundred took several
    milliseconds longer (``bench/``: mint p99 at half load 9 ms, 2 ms without).
    This thread runs a PASSIVE checkpoint every ``interval`` seconds instead, which
    never blocks readers or writers, so the commits find little or nothing left to
    copy. SQLite's automatic checkpoint stays on as the fallback, at
    `WAL_AUTOCHECKPOINT_PAGES` (10,000 pages, not 1,000): a busy server writes
    1,000 pages in less than this thread's interval (a mint writes 13), and a commit that
    copied pages itself took milliseconds where the others take tens of microseconds. The
    fallback's checkpoint is also the one that lets the next writer start the WAL over, so
    the file stays at most about 40 MiB instead of growing while writes never pause.
    """

    def __init__(self, database: str, *, interval: float = 0.05) -> None:
        self._database = database
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self._database, check_same_thread=True)
        try:
            while not self._stopped.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # e.g. busy with another checkpoint: try again later
                    continue
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
