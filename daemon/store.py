"""The local event log: one SQLite file, written by the daemon and read by ``hypnic events``.

Every event is committed and synced to disk before ``add_event`` returns, because a Pi on a
bedside table loses power without warning; events are rare, so the cost is nothing. The file
is in WAL mode, so a reader never waits for the daemon and the daemon never waits for a reader.

The schema and its migrations are in ``schema.py``; a file this code does not understand is
never changed: opening it stops with a ``StoreError`` that names the fix.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from hypnic.daemon.events import EVENT_TYPES, Event
from hypnic.daemon.schema import StoreError as StoreError  # re-exported: the log's error
from hypnic.daemon.schema import prepare

DB_NAME = "hypnic.sqlite3"

#: A reader waits this long for a lock before giving up; in WAL mode it rarely has to wait.
BUSY_TIMEOUT_S = 10.0


def night_of(wall: float, boundary: str = "12:00") -> str:
    """The night a moment belongs to: the local date ("YYYY-MM-DD") of the evening that began it.

    A night runs from ``boundary`` (local "HH:MM") on one day to ``boundary`` on the next, so with
    the default noon boundary both 23:00 and 03:00 the morning after belong to the same night.
    """
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", boundary)
    if match is None:
        raise ValueError(f'night boundary must be a local time "HH:MM", got {boundary!r}')
    local = datetime.fromtimestamp(wall)
    day = local.date()
    if (local.hour, local.minute) < (int(match[1]), int(match[2])):
        day -= timedelta(days=1)
    return day.isoformat()


@dataclass(frozen=True)
class StoredEvent:
    """An event as the log holds it: wall-clock onset, and the night it was filed under."""

    id: int
    night: str
    type: str
    onset_wall: float
    duration_s: float
    peak_g: float
    peak_jerk_g_s: float
    intensity: float
    sleep_onset: bool
    series: int | None = None
    intense: bool = False

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        onset = datetime.fromtimestamp(self.onset_wall).astimezone()
        d["onset"] = onset.isoformat(timespec="milliseconds")
        return d


@dataclass(frozen=True)
class NightRow:
    """One night's summary.

    counts   events per type, every type present, derived from the events themselves.
    figures  free-form numbers computed for the night (sleep onset, PLM index, ...).

    A night that has events but no summary row (the daemon stopped before writing one) still
    shows up, with first_seen/last_seen taken from its events, monitored_s 0, sensor "".
    """

    night: str
    first_seen: float
    last_seen: float
    monitored_s: float
    lost_samples: int
    sensor: str
    counts: dict[str, int]
    figures: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class EventStore:
    """The event log. Open it with ``EventStore.open``; safe to share between threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path, read_only: bool) -> None:
        self._conn = conn
        self.path = path
        self.read_only = read_only
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, data_dir: Path, read_only: bool = False) -> EventStore:
        """Open (the daemon: create or upgrade) the log ``hypnic.sqlite3`` in ``data_dir``.

        With ``read_only`` nothing is created or changed; the log must already exist at the
        schema this code knows.
        """
        data_dir = Path(data_dir)
        path = data_dir / DB_NAME
        if read_only:
            if not path.is_file():
                raise StoreError(f"no event log exists yet at {path}; `hypnic run` creates it")
            target, uri = path.resolve().as_uri() + "?mode=ro", True
        else:
            _check_writable(data_dir, path)
            target, uri = str(path), False
        try:
            # Autocommit mode: every transaction below is explicit, and a lone INSERT is its own.
            conn = sqlite3.connect(
                target,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
                uri=uri,
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the event log {path}: {e}") from e
        try:
            prepare(conn, path, read_only)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, read_only)

    def add_event(self, event: Event, onset_wall: float, night: str, outbox: bool = False) -> int:
        """File one event under ``night``; it is on disk when this returns. Returns its id.

        With ``outbox`` the event is also queued for publishing, in the same transaction, so
        no event can be saved and yet never sent (see ``unpublished``)."""
        _check_night(night)
        with self._guard("saving an event"), self._transaction():
            cur = self._conn.execute(
                "INSERT INTO events (night, type, onset_wall, duration_s, peak_g,"
                " peak_jerk_g_s, intensity, sleep_onset, series, intense, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    night,
                    event.type,
                    float(onset_wall),
                    float(event.duration_s),
                    float(event.peak_g),
                    float(event.peak_jerk_g_s),
                    float(event.intensity),
                    int(bool(event.sleep_onset)),
                    event.series,
                    int(bool(event.intense)),
                    time.time(),
                ),
            )
            assert cur.lastrowid is not None
            if outbox:
                self._conn.execute("INSERT INTO outbox (event_id) VALUES (?)", (cur.lastrowid,))
            return cur.lastrowid

    def unpublished(self, limit: int = 100, after_id: int = 0) -> list[StoredEvent]:
        """Events waiting in the outbox in the order they were detected, at most ``limit``,
        and only those logged after the event ``after_id``."""
        with self._guard("reading the outbox"):
            rows = self._conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events e JOIN outbox o ON o.event_id = e.id"
                " WHERE e.id > ? ORDER BY e.id LIMIT ?",
                (int(after_id), int(limit)),
            ).fetchall()
        return [_stored_event(r) for r in rows]

    def mark_published(self, event_ids: list[int]) -> None:
        """Take events out of the outbox: the broker has acknowledged them."""
        if not event_ids:
            return
        with self._guard("updating the outbox"), self._transaction():
            self._conn.executemany(
                "DELETE FROM outbox WHERE event_id = ?", [(int(i),) for i in event_ids]
            )

    def outbox_size(self) -> int:
        with self._guard("reading the outbox"):
            return int(self._conn.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def setting(self, key: str) -> str | None:
        """A value saved with ``save_setting`` (e.g. a sensitivity set from Home Assistant)."""
        with self._guard("reading settings"):
            row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def save_setting(self, key: str, value: str | None) -> None:
        """Save a value under ``key``; None removes it."""
        with self._guard("saving a setting"):
            if value is None:
                self._conn.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                self._conn.execute(
                    "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                    " updated_at = excluded.updated_at",
                    (key, value, time.time()),
                )

    def open_pause(self) -> float | None:
        """When the current pause began (Unix time), or None when monitoring is on."""
        with self._guard("reading pauses"):
            row = self._conn.execute(
                "SELECT max(start_wall) FROM pauses WHERE end_wall IS NULL"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def start_pause(self, wall: float) -> None:
        """Record that monitoring was paused at ``wall`` (nothing if a pause is already open)."""
        with self._guard("saving a pause"), self._transaction():
            if self._conn.execute("SELECT 1 FROM pauses WHERE end_wall IS NULL").fetchone():
                return
            self._conn.execute("INSERT INTO pauses (start_wall) VALUES (?)", (float(wall),))

    def end_pause(self, wall: float) -> float:
        """Close the open pause at ``wall``; returns how long it lasted in seconds (0 if none)."""
        with self._guard("saving a pause"), self._transaction():
            row = self._conn.execute(
                "SELECT id, start_wall FROM pauses WHERE end_wall IS NULL"
            ).fetchone()
            if row is None:
                return 0.0
            end = max(float(wall), float(row[1]))
            self._conn.execute("UPDATE pauses SET end_wall = ? WHERE id = ?", (end, row[0]))
            return end - float(row[1])

    def paused_s(self, start_wall: float, end_wall: float) -> float:
        """Seconds of pause between two moments (an open pause counts up to ``end_wall``)."""
        with self._guard("reading pauses"):
            row = self._conn.execute(
                "SELECT total(min(coalesce(end_wall, :end), :end) - max(start_wall, :start))"
                " FROM pauses WHERE start_wall < :end AND coalesce(end_wall, :end) > :start",
                {"start": float(start_wall), "end": float(end_wall)},
            ).fetchone()
        return float(row[0])

    def update_night(
        self,
        night: str,
        *,
        first_seen: float,
        last_seen: float,
        monitored_s: float,
        lost_samples: int,
        sensor: str,
        figures: dict[str, object] | None = None,
    ) -> None:
        """Write the night's summary row, creating it if needed.

        first_seen keeps the earliest value ever written; the other numbers replace what was
        there (the caller keeps the running totals). ``figures=None`` keeps the stored figures.
        """
        _check_night(night)
        figures_json = None if figures is None else json.dumps(figures, sort_keys=True)
        with self._guard("saving the night summary"):
            self._conn.execute(
                "INSERT INTO nights (night, first_seen, last_seen, monitored_s, lost_samples,"
                " sensor, figures, updated_at) VALUES (?, ?, ?, ?, ?, ?, coalesce(?, '{}'), ?)"
                " ON CONFLICT (night) DO UPDATE SET"
                " first_seen = min(first_seen, excluded.first_seen),"
                " last_seen = excluded.last_seen, monitored_s = excluded.monitored_s,"
                " lost_samples = excluded.lost_samples, sensor = excluded.sensor,"
                " figures = coalesce(?, figures), updated_at = excluded.updated_at",
                (
                    night,
                    float(first_seen),
                    float(last_seen),
                    float(monitored_s),
                    int(lost_samples),
                    sensor,
                    figures_json,
                    time.time(),
                    figures_json,
                ),
            )

    def events(
        self, since: float | None = None, night: str | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        """Events oldest first, from ``since`` (Unix time) on and/or of one ``night``.

        ``limit`` keeps the newest ``limit`` of the matches, still listed oldest first, so
        ``events(limit=20)`` is the 20 most recent events.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be 0 or more, got {limit}")
        where: list[str] = []
        args: list[object] = []
        if since is not None:
            where.append("onset_wall >= ?")
            args.append(float(since))
        if night is not None:
            where.append("night = ?")
            args.append(night)
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM events e"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY onset_wall DESC, id DESC"
            + (" LIMIT ?" if limit is not None else "")
        )
        if limit is not None:
            args.append(limit)
        with self._guard("reading events"):
            rows = self._conn.execute(sql, args).fetchall()
        return [_stored_event(r) for r in reversed(rows)]

    def nights(self) -> list[NightRow]:
        """Every night that has a summary row or events, newest first."""
        return self._nights(None)

    def night(self, night: str) -> NightRow | None:
        """One night's summary, or None if the log knows nothing of that night."""
        rows = self._nights(night)
        return rows[0] if rows else None

    def last_night(self) -> str | None:
        """The newest night that has a summary row or events, or None for an empty log."""
        with self._guard("reading nights"):
            row = self._conn.execute(
                "SELECT max(night) FROM (SELECT max(night) AS night FROM nights"
                " UNION ALL SELECT max(night) FROM events)"
            ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def close(self) -> None:
        """Close the log; closing twice is harmless."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _nights(self, only: str | None) -> list[NightRow]:
        one = "" if only is None else " WHERE night = :night"
        # One read transaction, so the counts match the summary rows they are shown with.
        with self._guard("reading nights"), self._snapshot():
            summary = self._conn.execute(
                "SELECT night, first_seen, last_seen, monitored_s, lost_samples, sensor, figures"
                " FROM nights" + one,
                {"night": only},
            ).fetchall()
            per_type = self._conn.execute(
                "SELECT night, type, count(*), min(onset_wall), max(onset_wall) FROM events"
                + one
                + " GROUP BY night, type",
                {"night": only},
            ).fetchall()
        rows: dict[str, dict[str, Any]] = {
            r[0]: {
                "night": r[0],
                "first_seen": float(r[1]),
                "last_seen": float(r[2]),
                "monitored_s": float(r[3]),
                "lost_samples": int(r[4]),
                "sensor": str(r[5]),
                "counts": dict.fromkeys(EVENT_TYPES, 0),
                "figures": _figures(r[6]),
            }
            for r in summary
        }
        # Nights with events but no summary row, so a crash before the first row hides nothing.
        from_events: set[str] = set()
        for night, type_, n, first, last in per_type:
            if night not in rows:
                from_events.add(night)
                rows[night] = {
                    "night": night,
                    "first_seen": float(first),
                    "last_seen": float(last),
                    "monitored_s": 0.0,
                    "lost_samples": 0,
                    "sensor": "",
                    "counts": dict.fromkeys(EVENT_TYPES, 0),
                    "figures": {},
                }
            elif night in from_events:
                rows[night]["first_seen"] = min(rows[night]["first_seen"], float(first))
                rows[night]["last_seen"] = max(rows[night]["last_seen"], float(last))
            rows[night]["counts"][type_] = int(n)
        return [NightRow(**rows[k]) for k in sorted(rows, reverse=True)]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: all of it is on disk, or none of it."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Serialise use of the connection and turn SQLite's errors into one-line StoreErrors."""
        with self._lock:
            if self._closed:
                raise StoreError(f"the event log {self.path} is closed")
            try:
                yield
            except sqlite3.Error as e:
                raise StoreError(f"event log {self.path}: {doing} failed: {e}") from e


_EVENT_COLUMNS = (
    "e.id, e.night, e.type, e.onset_wall, e.duration_s, e.peak_g, e.peak_jerk_g_s,"
    " e.intensity, e.sleep_onset, e.series, e.intense"
)


def _stored_event(r: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(
        id=r[0],
        night=r[1],
        type=r[2],
        onset_wall=float(r[3]),
        duration_s=float(r[4]),
        peak_g=float(r[5]),
        peak_jerk_g_s=float(r[6]),
        intensity=float(r[7]),
        sleep_onset=bool(r[8]),
        series=None if r[9] is None else int(r[9]),
        intense=bool(r[10]),
    )


def _figures(raw: object) -> dict[str, Any]:
    """The stored figures; text that is not a JSON object (a hand edit) reads as none."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {}


def _check_night(night: str) -> None:
    try:
        ok = date.fromisoformat(night).isoformat() == night
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f'night must be a date "YYYY-MM-DD", got {night!r}')


def _check_writable(data_dir: Path, path: Path) -> None:
    """Fail early, naming the fix, where SQLite would only say "unable to open database file"."""
    fix = "fix its permissions or set storage.data_dir to a folder hypnic may write"
    if data_dir.exists() and not data_dir.is_dir():
        raise StoreError(f"the data folder {data_dir} is a file; set storage.data_dir to a folder")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(
            f"cannot create the data folder {data_dir}: {e.strerror or e}; {fix}"
        ) from e
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StoreError(f"the data folder {data_dir} is not writable by this user; {fix}")
    # WAL needs the two side files as much as the log itself; a reader run as another user
    # (root, say) may have left them behind owned by that user.
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists() and not os.access(p, os.R_OK | os.W_OK):
            raise StoreError(f"{p} is not writable by this user; fix its permissions")
