"""The local event log: round trips, filters, night keys, migrations, bad files, kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hypnic.daemon.events import EVENT_TYPES, Event
from hypnic.daemon.schema import MIGRATIONS, SCHEMA_VERSION
from hypnic.daemon.store import (
    EventStore,
    NightRow,
    StoredEvent,
    StoreError,
    night_of,
)

T0 = 1_795_000_000.0  # 2026-11-18, an arbitrary moment to hang events on


def ev(type_: str = "jerk", onset_s: float = 0.0, *, sleep_onset: bool = False) -> Event:
    return Event(type_, onset_s, onset_s + 0.25, 0.05, 3.0, 5.67, sleep_onset=sleep_onset)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore.open(tmp_path / "data") as s:
        yield s


@pytest.fixture
def use_tz() -> Iterator[Callable[[str], None]]:
    """Switch the process's local time zone for one test, and switch it back after."""
    with pytest.MonkeyPatch.context() as mp:

        def use(tz: str) -> None:
            mp.setenv("TZ", tz)
            time.tzset()

        yield use
    time.tzset()


def one_line_error(excinfo: pytest.ExceptionInfo[StoreError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --- round trips and queries ---------------------------------------------------------------


def test_open_creates_folder_and_file_with_settings(tmp_path: Path) -> None:
    data = tmp_path / "a" / "b"
    with EventStore.open(data) as s:
        assert s.path == data / "hypnic.sqlite3"
        assert s.path.is_file()
    conn = sqlite3.connect(data / "hypnic.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_event_round_trip(store: EventStore) -> None:
    first = store.add_event(ev("jerk", 10.0, sleep_onset=True), T0, "2026-11-18")
    second = store.add_event(ev("posture_change", 20.0), T0 + 60, "2026-11-18")
    assert second > first
    got = store.events()
    assert got == [
        StoredEvent(first, "2026-11-18", "jerk", T0, 0.25, 0.05, 3.0, 5.67, True),
        StoredEvent(second, "2026-11-18", "posture_change", T0 + 60, 0.25, 0.05, 3.0, 5.67, False),
    ]
    d = got[0].as_dict()
    json.dumps(d)
    assert d["id"] == first and d["sleep_onset"] is True
    onset = datetime.fromisoformat(d["onset"])
    assert onset.utcoffset() is not None
    assert onset.timestamp() == pytest.approx(T0, abs=0.001)


def test_events_survive_reopen(tmp_path: Path) -> None:
    with EventStore.open(tmp_path) as s:
        eid = s.add_event(ev(), T0, "2026-11-18")
    with EventStore.open(tmp_path) as s:
        assert [e.id for e in s.events()] == [eid]


def test_event_filters(store: EventStore) -> None:
    ids = [
        store.add_event(ev(onset_s=i), T0 + 100 * i, "2026-11-18" if i < 3 else "2026-11-19")
        for i in range(6)
    ]
    assert [e.id for e in store.events()] == ids
    assert [e.id for e in store.events(since=T0 + 200)] == ids[2:]
    assert [e.id for e in store.events(night="2026-11-19")] == ids[3:]
    assert [e.id for e in store.events(since=T0 + 100, night="2026-11-18")] == ids[1:3]
    # limit keeps the newest matches, still oldest first
    assert [e.id for e in store.events(limit=2)] == ids[4:]
    assert [e.id for e in store.events(night="2026-11-18", limit=2)] == ids[1:3]
    assert store.events(limit=0) == []
    assert store.events(night="2026-01-01") == []
    with pytest.raises(ValueError):
        store.events(limit=-1)


def test_events_are_ordered_by_onset_not_insertion(store: EventStore) -> None:
    late = store.add_event(ev(), T0 + 50, "2026-11-18")
    early = store.add_event(ev(), T0, "2026-11-18")
    assert [e.id for e in store.events()] == [early, late]


def test_night_round_trip_and_counts(store: EventStore) -> None:
    store.add_event(ev("jerk"), T0 + 10, "2026-11-18")
    store.add_event(ev("jerk"), T0 + 20, "2026-11-18")
    store.add_event(ev("bed_exit"), T0 + 30, "2026-11-18")
    store.update_night(
        "2026-11-18",
        first_seen=T0,
        last_seen=T0 + 3600,
        monitored_s=3590.5,
        lost_samples=12,
        sensor="sim seed 1",
        figures={"plm_index": 4.5, "sleep_onset": T0 + 900},
    )
    row = store.night("2026-11-18")
    assert row == NightRow(
        night="2026-11-18",
        first_seen=T0,
        last_seen=T0 + 3600,
        monitored_s=3590.5,
        lost_samples=12,
        sensor="sim seed 1",
        counts={"jerk": 2, "limb_movement": 0, "posture_change": 0, "bed_entry": 0, "bed_exit": 1},
        figures={"plm_index": 4.5, "sleep_onset": T0 + 900},
    )
    assert list(row.counts) == list(EVENT_TYPES)
    json.dumps(row.as_dict())
    assert row.as_dict()["counts"]["jerk"] == 2
    assert store.night("2026-11-17") is None


def test_night_without_events_has_zero_counts(store: EventStore) -> None:
    store.update_night(
        "2026-11-18", first_seen=T0, last_seen=T0 + 1, monitored_s=1, lost_samples=0, sensor="s"
    )
    row = store.night("2026-11-18")
    assert row is not None
    assert row.counts == dict.fromkeys(EVENT_TYPES, 0)
    assert row.figures == {}


def test_update_night_upserts_and_keeps_first_seen(store: EventStore) -> None:
    def update(first: float, last: float, figures: dict[str, object] | None = None) -> None:
        store.update_night(
            "2026-11-18",
            first_seen=first,
            last_seen=last,
            monitored_s=last - first,
            lost_samples=int(last - first),
            sensor="sim",
            figures=figures,
        )

    update(T0, T0 + 60, {"plm_index": 1.0})
    update(T0 + 600, T0 + 900)  # a restart later in the night: first_seen must not move
    row = store.night("2026-11-18")
    assert row is not None
    assert (row.first_seen, row.last_seen, row.monitored_s) == (T0, T0 + 900, 300.0)
    assert row.lost_samples == 300
    assert row.figures == {"plm_index": 1.0}, "figures=None keeps what was stored"
    update(T0 - 5, T0 + 1000, {"plm_index": 2.0})
    row = store.night("2026-11-18")
    assert row is not None
    assert row.first_seen == T0 - 5
    assert row.figures == {"plm_index": 2.0}
    assert len(store.nights()) == 1


def test_nights_newest_first_including_event_only_nights(store: EventStore) -> None:
    assert store.nights() == []
    assert store.last_night() is None
    for night in ("2026-11-16", "2026-11-18"):
        store.update_night(
            night, first_seen=T0, last_seen=T0, monitored_s=0, lost_samples=0, sensor="sim"
        )
    # events of a night whose summary row was never written (the daemon died first)
    store.add_event(ev("limb_movement"), T0 + 5, "2026-11-17")
    store.add_event(ev("jerk"), T0 + 9, "2026-11-17")
    assert [n.night for n in store.nights()] == ["2026-11-18", "2026-11-17", "2026-11-16"]
    orphan = store.night("2026-11-17")
    assert orphan is not None
    assert (orphan.first_seen, orphan.last_seen, orphan.monitored_s) == (T0 + 5, T0 + 9, 0.0)
    assert orphan.counts["limb_movement"] == 1 and orphan.counts["jerk"] == 1
    assert store.last_night() == "2026-11-18"
    store.add_event(ev(), T0 + 86400, "2026-11-19")
    assert store.last_night() == "2026-11-19"


def test_bad_night_key_is_refused(store: EventStore) -> None:
    for bad in ("2026-11-1", "yesterday", "2026-13-01"):
        with pytest.raises(ValueError):
            store.add_event(ev(), T0, bad)
    assert store.events() == []


def test_close_is_idempotent_and_later_use_is_a_store_error(tmp_path: Path) -> None:
    s = EventStore.open(tmp_path)
    s.close()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.events()


def test_store_can_be_used_from_another_thread(store: EventStore) -> None:
    ids: list[int] = []
    t = threading.Thread(target=lambda: ids.append(store.add_event(ev(), T0, "2026-11-18")))
    t.start()
    t.join()
    assert [e.id for e in store.events()] == ids


# --- night_of ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "boundary", "night"),
    [
        (datetime(2026, 11, 24, 3, 0), "12:00", "2026-11-23"),
        (datetime(2026, 11, 23, 23, 0), "12:00", "2026-11-23"),
        (datetime(2026, 11, 24, 0, 0), "12:00", "2026-11-23"),  # across midnight
        (datetime(2026, 11, 24, 11, 59, 59), "12:00", "2026-11-23"),
        (datetime(2026, 11, 24, 12, 0), "12:00", "2026-11-24"),
        (datetime(2026, 11, 24, 17, 59), "18:00", "2026-11-23"),
        (datetime(2026, 11, 24, 18, 0), "18:00", "2026-11-24"),
        (datetime(2026, 11, 24, 0, 0), "00:00", "2026-11-24"),
        (datetime(2026, 11, 23, 23, 59), "00:00", "2026-11-23"),
        (datetime(2027, 1, 1, 2, 0), "12:00", "2026-12-31"),  # across the new year
    ],
)
@pytest.mark.parametrize(("tz", "offset_h"), [("UTC0", 0), ("XST+5", -5), ("YST-9", 9)])
def test_night_of_uses_local_time(
    use_tz: Callable[[str], None],
    tz: str,
    offset_h: int,
    local: datetime,
    boundary: str,
    night: str,
) -> None:
    use_tz(tz)
    wall = local.replace(tzinfo=timezone(timedelta(hours=offset_h))).timestamp()
    assert night_of(wall, boundary) == night


def test_night_of_same_moment_differs_by_zone(use_tz: Callable[[str], None]) -> None:
    wall = datetime(2026, 11, 24, 8, 0, tzinfo=UTC).timestamp()
    use_tz("UTC0")
    assert night_of(wall) == "2026-11-23"  # 08:00, still the night before
    use_tz("YST-9")
    assert night_of(wall) == "2026-11-24"  # 17:00 local, the evening of the 24th


def test_night_of_across_a_dst_change(use_tz: Callable[[str], None]) -> None:
    use_tz("CET-1CEST,M3.5.0,M10.5.0/3")  # clocks go 02:00 -> 03:00 on 2026-03-29
    before = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1))).timestamp()
    after = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2))).timestamp()
    noon = datetime(2026, 3, 29, 12, 0, tzinfo=timezone(timedelta(hours=2))).timestamp()
    assert night_of(before) == night_of(after) == "2026-03-28"
    assert night_of(noon) == "2026-03-29"


@pytest.mark.parametrize("bad", ["12", "24:00", "7:00", "12:60", ""])
def test_night_of_rejects_bad_boundary(bad: str) -> None:
    with pytest.raises(ValueError):
        night_of(T0, bad)


# --- readers -------------------------------------------------------------------------------


def test_read_only_open_of_missing_log_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "nowhere"
    with pytest.raises(StoreError) as excinfo:
        EventStore.open(data, read_only=True)
    message = one_line_error(excinfo)
    assert str(data / "hypnic.sqlite3") in message
    assert "hypnic run" in message
    assert not data.exists()
    with pytest.raises(StoreError):
        EventStore.open(tmp_path, read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_read_only_store_cannot_write(tmp_path: Path) -> None:
    EventStore.open(tmp_path).close()
    with EventStore.open(tmp_path, read_only=True) as reader, pytest.raises(StoreError):
        reader.add_event(ev(), T0, "2026-11-18")


def test_reader_alongside_open_writer(tmp_path: Path) -> None:
    with EventStore.open(tmp_path) as writer:
        first = writer.add_event(ev(), T0, "2026-11-18")
        with EventStore.open(tmp_path, read_only=True) as reader:
            assert [e.id for e in reader.events()] == [first]
            second = writer.add_event(ev(), T0 + 1, "2026-11-18")
            assert [e.id for e in reader.events()] == [first, second]

            # a writer in the middle of a transaction does not block the reader
            raw = sqlite3.connect(writer.path, isolation_level=None)
            raw.execute("BEGIN IMMEDIATE")
            raw.execute(
                "INSERT INTO events (night, type, onset_wall, duration_s, peak_g, peak_jerk_g_s,"
                " intensity, sleep_onset, created_at) VALUES"
                " ('2026-11-18', 'jerk', 1, 0, 0, 0, 0, 0, 0)"
            )
            started = time.monotonic()
            assert [e.id for e in reader.events()] == [first, second]
            assert reader.nights()[0].counts["jerk"] == 2
            assert time.monotonic() - started < 1.0
            raw.execute("ROLLBACK")
            raw.close()


def test_writer_waits_for_a_brief_lock_instead_of_failing(tmp_path: Path) -> None:
    with EventStore.open(tmp_path) as writer:
        raw = sqlite3.connect(writer.path, isolation_level=None, check_same_thread=False)
        raw.execute("BEGIN IMMEDIATE")
        releaser = threading.Timer(0.3, lambda: raw.execute("COMMIT"))
        releaser.start()
        try:
            eid = writer.add_event(ev(), T0, "2026-11-18")
        finally:
            releaser.join()
            raw.close()
        assert [e.id for e in writer.events()] == [eid]


# --- schema versions -----------------------------------------------------------------------


def test_old_schema_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "hypnic.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO events (night, type, onset_wall, duration_s, peak_g, peak_jerk_g_s,"
        " intensity, sleep_onset, created_at) VALUES ('2026-11-18', 'jerk', ?, 0.2, 0.05, 3, 5,"
        " 1, ?)",
        (T0, T0),
    )
    conn.commit()
    conn.close()

    # a reader does not upgrade; it says who does
    with pytest.raises(StoreError, match="hypnic run") as excinfo:
        EventStore.open(tmp_path, read_only=True)
    one_line_error(excinfo)

    with EventStore.open(tmp_path) as s:
        [kept] = s.events()
        assert (kept.type, kept.onset_wall, kept.sleep_onset) == ("jerk", T0, True)
        s.update_night(
            "2026-11-18", first_seen=T0, last_seen=T0, monitored_s=0, lost_samples=0, sensor="x"
        )
        row = s.night("2026-11-18")
        assert row is not None and row.counts["jerk"] == 1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_each_migration_bumps_the_version_in_its_own_transaction(tmp_path: Path) -> None:
    """A step that fails leaves the file at the version before it, nothing half done."""
    path = tmp_path / "hypnic.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute("CREATE TABLE nights (x)")  # a stray table the next step will collide with
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="nights") as excinfo:
        EventStore.open(tmp_path)
    one_line_error(excinfo)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    EventStore.open(tmp_path).close()
    path = tmp_path / "hypnic.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("PRAGMA journal_mode = DELETE")  # a future hypnic might well choose another
    conn.commit()
    conn.close()
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(StoreError) as excinfo:
            EventStore.open(tmp_path, read_only=read_only)
        message = one_line_error(excinfo)
        assert "newer hypnic" in message
        assert f"schema {SCHEMA_VERSION + 1}, this one knows {SCHEMA_VERSION}" in message
        assert "left untouched" in message
        assert path.read_bytes() == before


# --- files that are not a usable log -------------------------------------------------------


@pytest.mark.parametrize("read_only", [False, True])
def test_not_a_database_is_refused_and_left_untouched(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "hypnic.sqlite3"
    path.write_bytes(b"this is a shopping list, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError) as excinfo:
        EventStore.open(tmp_path, read_only=read_only)
    message = one_line_error(excinfo)
    assert str(path) in message
    assert "left untouched" in message and "move it aside" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hypnic.sqlite3"]


def test_corrupt_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    with EventStore.open(tmp_path) as s:
        for i in range(300):
            s.add_event(ev(onset_s=i), T0 + i, "2026-11-18")
    path = tmp_path / "hypnic.sqlite3"
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) >= 4 * page
    data[page + 8 : 3 * page] = b"\xa5" * (2 * page - 8)  # scribble over pages 2 and 3
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as excinfo:
        EventStore.open(tmp_path)
    message = one_line_error(excinfo)
    assert str(path) in message and "left untouched" in message
    assert path.read_bytes() == bytes(data)


def test_inconsistent_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    """Damage that only an integrity check finds, here a row its table's CHECK now forbids."""
    with EventStore.open(tmp_path) as s:
        s.add_event(ev(), T0, "2026-11-18")
    path = tmp_path / "hypnic.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = replace(sql, 'IN (0, 1)', 'IN (5)') WHERE name = 'events'"
    )
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="damaged") as excinfo:
        EventStore.open(tmp_path)
    message = one_line_error(excinfo)
    assert str(path) in message and "left untouched" in message
    assert path.read_bytes() == before


def test_unwritable_data_folder_names_folder_and_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    data = blocker / "hypnic"
    with pytest.raises(StoreError) as excinfo:
        EventStore.open(data)
    message = one_line_error(excinfo)
    assert str(data) in message
    assert "storage.data_dir" in message and "permissions" in message
    with pytest.raises(StoreError, match=r"storage\.data_dir") as excinfo:
        EventStore.open(blocker)
    assert str(blocker) in one_line_error(excinfo)
    assert blocker.read_text() == ""


def _lock(folder: Path, locked: bool) -> None:
    """Make a folder unwritable, for root too: root ignores permission bits but not the
    immutable attribute (CI runs as root)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if locked else "-i", str(folder)], check=True)
    else:
        folder.chmod(0o500 if locked else 0o700)


def test_read_only_data_folder_names_folder_and_fix(tmp_path: Path) -> None:
    data = tmp_path / "locked"
    data.mkdir()
    _lock(data, True)
    try:
        with pytest.raises(StoreError) as excinfo:
            EventStore.open(data)
        message = one_line_error(excinfo)
        assert str(data) in message and "storage.data_dir" in message
        assert list(data.iterdir()) == []
    finally:
        _lock(data, False)


# --- durability ----------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from hypnic.daemon.events import Event
    from hypnic.daemon.store import EventStore

    store = EventStore.open(Path(sys.argv[1]))
    i = 0
    while True:
        event = Event("jerk", i, i + 0.2, 0.05, 3.0, 5.67)
        print(store.add_event(event, 1.8e9 + i, "2027-01-14"), flush=True)
        i += 1
    """
)


def test_every_acknowledged_event_survives_kill_9(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    data = tmp_path / "data"
    acknowledged: list[int] = []
    for _ in range(3):  # each round kills a writer that reopened the log the last one left
        proc = subprocess.Popen(
            [sys.executable, str(script), str(data)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        try:
            for _ in range(40):
                line = proc.stdout.readline()
                assert line, "the writer stopped before it was killed"
                acknowledged.append(int(line))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        # ids already printed but not yet read were acknowledged too
        acknowledged.extend(int(line) for line in proc.stdout.read().split())
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL

        conn = sqlite3.connect(data / "hypnic.sqlite3")
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
        with EventStore.open(data) as s:
            stored = {e.id for e in s.events()}
        assert set(acknowledged) <= stored
    assert len(set(acknowledged)) == len(acknowledged) >= 120


def test_a_storage_fault_does_not_blame_a_healthy_log(tmp_path: Path) -> None:
    # Found in review: a read-only folder (WAL needs its -shm file) was reported as a damaged
    # log to be moved aside.
    data = tmp_path / "data"
    with EventStore.open(data) as store:
        store.add_event(Event("jerk", 1.0, 1.2, 0.05, 3.0, 5.7), 1.8e9, "2027-01-14")
    for side in data.glob("hypnic.sqlite3-*"):
        side.unlink()
    _lock(data, True)
    try:
        with pytest.raises(StoreError) as excinfo:
            EventStore.open(data, read_only=True).close()
        message = one_line_error(excinfo)
        assert "move it aside" not in message
        assert "left untouched" in message
    finally:
        _lock(data, False)
    with EventStore.open(data, read_only=True) as store:
        assert len(store.events()) == 1
