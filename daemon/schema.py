"""The event log's schema, its migrations, and the checks made when the file is opened.

The schema carries its version in ``PRAGMA user_version`` and is brought up to date by
``MIGRATIONS`` when the daemon opens it. Nothing here ever deletes, replaces or "repairs" a
file it does not understand: it stops with a ``StoreError`` and leaves the file as it found it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from hypnic.daemon.errors import StoreError as StoreError  # re-exported: the log's error
from hypnic.daemon.events import EVENT_TYPES

_TYPES_SQL = ", ".join(f"'{t}'" for t in EVENT_TYPES)
_NIGHT_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"

#: Index i takes the schema from version i to i + 1. Append only: never edit a released step,
#: because files in the field have already been through it.
MIGRATIONS: list[str] = [
    f"""
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        night TEXT NOT NULL CHECK (night GLOB '{_NIGHT_GLOB}'),
        type TEXT NOT NULL CHECK (type IN ({_TYPES_SQL})),
        onset_wall REAL NOT NULL,
        duration_s REAL NOT NULL,
        peak_g REAL NOT NULL,
        peak_jerk_g_s REAL NOT NULL,
        intensity REAL NOT NULL,
        sleep_onset INTEGER NOT NULL DEFAULT 0 CHECK (sleep_onset IN (0, 1)),
        created_at REAL NOT NULL
    );
    CREATE INDEX events_night ON events (night);
    CREATE INDEX events_onset_wall ON events (onset_wall);
    """,
    f"""
    CREATE TABLE nights (
        night TEXT PRIMARY KEY CHECK (night GLOB '{_NIGHT_GLOB}'),
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        monitored_s REAL NOT NULL DEFAULT 0,
        lost_samples INTEGER NOT NULL DEFAULT 0,
        sensor TEXT NOT NULL DEFAULT '',
        figures TEXT NOT NULL DEFAULT '{{}}',
        updated_at REAL NOT NULL
    );
    """,
    # v3: what the MQTT work needs. The outbox holds the ids of events not yet acknowledged by
    # the broker (written in the same transaction as the event); settings holds what was
    # changed from Home Assistant; pauses records when monitoring was switched off.
    """
    ALTER TABLE events ADD COLUMN series INTEGER;
    ALTER TABLE events ADD COLUMN intense INTEGER NOT NULL DEFAULT 0 CHECK (intense IN (0, 1));
    CREATE TABLE outbox (
        event_id INTEGER PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE pauses (
        id INTEGER PRIMARY KEY,
        start_wall REAL NOT NULL,
        end_wall REAL CHECK (end_wall IS NULL OR end_wall >= start_wall)
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

_MOVE_ASIDE = "the file was left untouched; move it aside to start a new log"


#: SQLite result codes (the low byte of sqlite_errorcode) that mean the FILE is bad. Anything
#: else — a full disk, an I/O error, a read-only or unopenable folder — is the storage's fault,
#: and the log itself must not be blamed (nor moved aside).
_DAMAGED_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def _open_error(path: Path, e: sqlite3.DatabaseError) -> StoreError:
    code = getattr(e, "sqlite_errorcode", None)
    if code is None or (code & 0xFF) in _DAMAGED_CODES:
        return StoreError(f"{path} is not a readable event log ({e}); {_MOVE_ASIDE}")
    return StoreError(
        f"cannot use the event log {path} ({e}): check that its folder is writable by this "
        "user and that the disk is not full; the log itself was left untouched"
    )


def prepare(conn: sqlite3.Connection, path: Path, read_only: bool) -> None:
    """Check the file is a log this code can use, then set it up (and upgrade it) for writing."""
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        # Before anything is written: a newer schema must not even get its journal mode changed.
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer hypnic (schema {version}, this one knows"
                f" {SCHEMA_VERSION}); upgrade hypnic — the file was left untouched"
            )
        # The log stays small (a few thousand rows a year), so checking all of it is cheap.
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise _open_error(path, e) from e
    if check != "ok":
        first = str(check).splitlines()[0]
        raise StoreError(f"{path} is damaged (integrity check: {first}); {_MOVE_ASIDE}")
    if read_only:
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"{path} is at schema {version}, older than this hypnic reads"
                f" ({SCHEMA_VERSION}); start `hypnic run` once to upgrade it"
            )
        return
    try:
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn)
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error as e:
        raise StoreError(f"cannot set up the event log {path}: {e}") from e


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply the missing MIGRATIONS, each in one transaction with its user_version bump."""
    for step, script in enumerate(MIGRATIONS):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read under the write lock, so two processes starting at once migrate only once.
            if conn.execute("PRAGMA user_version").fetchone()[0] == step:
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements; executescript() would commit our transaction early."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\n;"):
                yield pending
            pending = ""
