"""Recordings: round trips, block-size independence, gaps, the rate estimate, bad files."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

import hypnic.drivers.recording_csv as recording_csv
import hypnic.drivers.recording_npz as recording_npz
from hypnic.drivers.base import Block, Sensor
from hypnic.drivers.recording import RecordingError, RecordingWriter, open_recording

F64 = NDArray[np.float64]


def samples(n: int, rate: float = 200.0, seed: int = 0, t0: float = 3.0) -> tuple[F64, F64]:
    """n samples at rate with a little timing jitter, lying still (z up) with some noise."""
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(n) / rate + rng.uniform(-0.01, 0.01, n) / rate
    acc = rng.normal(0.0, 0.01, (n, 3)) + np.array([0.02, -0.03, 1.0])
    return t, acc


def write(path: Path, t: F64, acc: F64, *, compress: bool = True, piece: int = 777) -> Path:
    with RecordingWriter(path, compress=compress) as w:
        for s in range(0, len(t), piece):
            w.write(t[s : s + piece], acc[s : s + piece])
    return path


def read_all(path: Path, block_samples: int = 4096) -> tuple[list[Block], float, int, int]:
    rec = open_recording(path, block_samples)
    try:
        blocks = list(rec.blocks())
    finally:
        rec.close()
    return blocks, rec.rate_hz, rec.samples_read, rec.lost_samples


def joined(blocks: list[Block]) -> tuple[F64, F64, NDArray[np.bool_]]:
    return (
        np.concatenate([b.t_s for b in blocks]),
        np.concatenate([b.acc_g for b in blocks]),
        np.concatenate([b.gap_before for b in blocks]),
    )


def error_of(path: Path, block_samples: int = 4096) -> str:
    """The message a bad recording gives, on opening or while reading; checks it is one line."""
    with pytest.raises(RecordingError) as info:
        rec = open_recording(path, block_samples)
        try:
            for _ in rec.blocks():
                pass
        finally:
            rec.close()
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(str(path)), message
    return message


# --- round trips -------------------------------------------------------------------------


def test_csv_round_trip(tmp_path: Path) -> None:
    t, acc = samples(5000)
    path = write(tmp_path / "night.csv", t, acc)
    lines = path.read_text().splitlines()
    assert lines[0] == "t,ax,ay,az"
    assert lines[1] == f"{t[0]:.6f},{acc[0, 0]:.6f},{acc[0, 1]:.6f},{acc[0, 2]:.6f}"
    assert len(lines) == 5001
    blocks, rate, n, lost = read_all(path)
    got_t, got_acc, gaps = joined(blocks)
    np.testing.assert_allclose(got_t, t, rtol=0, atol=5.1e-7)
    np.testing.assert_allclose(got_acc, acc, rtol=0, atol=5.1e-7)
    assert (n, lost, gaps.any()) == (5000, 0, False)
    assert rate == pytest.approx(200.0, rel=1e-3)
    assert all(b.rate_hz == rate for b in blocks)


@pytest.mark.parametrize("compress", [True, False])
def test_npz_round_trip(tmp_path: Path, compress: bool) -> None:
    t, acc = samples(5000)
    path = write(tmp_path / "night.npz", t, acc, compress=compress)
    with zipfile.ZipFile(path) as zf:
        kinds = {i.compress_type for i in zf.infolist()}
        assert sorted(zf.namelist()) == ["acc.npy", "t.npy"]
    assert kinds == {zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED}
    with np.load(path) as data:
        np.testing.assert_array_equal(data["t"], t)
        np.testing.assert_array_equal(data["acc"], acc)
    blocks, _, n, _ = read_all(path)
    got_t, got_acc, _ = joined(blocks)
    np.testing.assert_array_equal(got_t, t)
    np.testing.assert_array_equal(got_acc, acc)
    assert n == 5000


def test_npz_from_numpy_savez_any_dtype_and_fortran_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording_npz, "CHUNK_SAMPLES", 100)  # many chunks, columns apart
    t, acc = samples(1000)
    expected_acc = acc.astype(np.float32).astype(np.float64)
    path = tmp_path / "np.npz"
    np.savez_compressed(path, t=t.astype(">f8"), acc=np.asfortranarray(acc.astype(np.float32)))
    blocks, _, _, _ = read_all(path, 64)
    got_t, got_acc, _ = joined(blocks)
    np.testing.assert_array_equal(got_t, t)
    np.testing.assert_array_equal(got_acc, expected_acc)
    assert got_t.dtype == got_acc.dtype == np.float64
    # Integer acc (whole g, an odd recorder) and an extra array are fine too.
    np.savez(path, t=np.arange(10) / 100.0, acc=np.tile([0, 0, 1], (10, 1)), temp=np.zeros(3))
    blocks, rate, _, _ = read_all(path)
    assert rate == pytest.approx(100.0) and joined(blocks)[1][-1].tolist() == [0.0, 0.0, 1.0]


def test_recording_is_a_sensor(tmp_path: Path) -> None:
    t, acc = samples(1000)
    path = write(tmp_path / "Foo.NPZ", t, acc)  # the suffix in any case
    rec = open_recording(path, 100)
    assert isinstance(rec, Sensor)
    assert rec.description == "recording Foo.NPZ"
    assert rec.wall_time_at_zero is None
    assert rec.nominal_rate_hz == rec.rate_hz
    it = rec.blocks()
    first = next(it)
    it.close()  # abandoned; a new blocks() carries on where it stopped
    rest = list(rec.blocks())
    assert first.t_s[0] == t[0] and rest[0].t_s[0] == t[100]
    assert rec.samples_read == 1000 and list(rec.blocks()) == []
    rec.close()
    rec.close()


# --- blocks, gaps, rate ------------------------------------------------------------------


def with_gaps(rate: float = 200.0) -> tuple[F64, F64, list[int], list[int]]:
    """Samples with holes cut out; where (in the result) the samples after them are, and how
    many samples each hole lost."""
    t, acc = samples(6000, rate)
    holes = [(50, 53), (1999, 2010), (2500, 2502), (4095, 4200)]  # 2500: 2 lost, 3 periods
    keep = np.ones(len(t), dtype=bool)
    for a, b in holes:
        keep[a:b] = False
    after = [int(keep[:b].sum()) for _, b in holes]
    return t[keep], acc[keep], after, [b - a for a, b in holes]


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_block_size_changes_nothing_but_the_cut(tmp_path: Path, suffix: str) -> None:
    t, acc, after, lost = with_gaps()
    path = write(tmp_path / f"gaps{suffix}", t, acc)
    results = {}
    for size in (1, 25, 10000):
        blocks, rate, n, total_lost = read_all(path, size)
        assert all(len(b) == size for b in blocks[:-1]) and 0 < len(blocks[-1]) <= size
        assert sum(b.lost_samples for b in blocks) == total_lost
        got_t, got_acc, gaps = joined(blocks)
        results[size] = (got_t, got_acc, gaps, rate, n, total_lost)
    for size in (25, 10000):
        for a, b in zip(results[1], results[size], strict=True):
            np.testing.assert_array_equal(a, b)
    _, _, gaps, rate, n, total_lost = results[25]
    assert list(np.flatnonzero(gaps)) == after
    assert total_lost == sum(lost) and n == len(t)
    assert rate == pytest.approx(200.0, rel=1e-3)


def test_gaps_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t, acc, after, lost = with_gaps()
    path = write(tmp_path / "gaps.npz", t, acc)
    for chunk in (after[1], after[1] - 1, 7):  # a hole exactly where a chunk starts
        monkeypatch.setattr(recording_npz, "CHUNK_SAMPLES", chunk)
        blocks, _, _, total_lost = read_all(path, 333)
        gap_at = [i for i, g in enumerate(joined(blocks)[2]) if g]
        assert gap_at == after and total_lost == sum(lost)
        per_block = {b.t_s[0]: b.lost_samples for b in blocks if b.has_gap}
        assert sum(per_block.values()) == sum(lost)


def test_rate_three_percent_off_nominal(tmp_path: Path) -> None:
    t, acc = samples(3000, rate=206.0)  # a "200 Hz" chip running 3 % fast
    t = np.delete(t, np.r_[10:40, 500:520])  # holes early on do not bias the median
    acc = np.delete(acc, np.r_[10:40, 500:520], axis=0)
    for path in (write(tmp_path / "fast.npz", t, acc), write(tmp_path / "fast.csv", t, acc)):
        rec = open_recording(path)
        assert rec.rate_hz == pytest.approx(206.0, rel=5e-4)
        rec.close()


CLEAN = "t,ax,ay,az\n0.0,0,0,1\n0.005,0,0,1\n0.010,0,0,1\n0.015,0,0,1\n"
MESSY = (
    "\ufeff# recorded on the pi\r\n#\tsecond comment\r\n t , ax,ay , az \r\n"
    " 0.0 , 0 ,0,1\r\n0.005,0,0 , 1\r\n0.010, 0,0,1\r\n0.015,0,0,1   \r\n\r\n  \r\n\n"
)


@pytest.mark.parametrize("chunk", [None, 3, 7, 16, 64])
def test_csv_tolerates_bom_comments_spaces_crlf_trailing_blanks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int | None
) -> None:
    if chunk:
        monkeypatch.setattr(recording_csv, "CHUNK_BYTES", chunk)
    clean, messy = tmp_path / "clean.csv", tmp_path / "messy.csv"
    clean.write_text(CLEAN)
    messy.write_bytes(MESSY.encode("utf-8"))
    unterminated = csv_file(tmp_path, CLEAN.rstrip("\n"), "unterminated.csv")
    a = joined(read_all(clean)[0])
    for other in (messy, unterminated):
        for x, y in zip(a, joined(read_all(other)[0]), strict=True):
            np.testing.assert_array_equal(x, y)
    assert len(a[0]) == 4


def test_large_file_streams_in_bounded_blocks(tmp_path: Path) -> None:
    n = 300_000
    t, acc = samples(n)
    for path in (write(tmp_path / "big.npz", t, acc, piece=50_000), tmp_path / "big.csv"):
        if path.suffix == ".csv":
            write(path, t, acc, piece=50_000)
        tracemalloc.start()
        try:
            rec = open_recording(path, 1000)
            count = 0
            for block in rec.blocks():
                assert len(block) <= 1000
                count += len(block)
            rec.close()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert count == rec.samples_read == n
        assert peak < 6e6, f"{path.name}: peak {peak / 1e6:.1f} MB for 9.6 MB of samples"


# --- bad files -----------------------------------------------------------------------------


def csv_file(tmp_path: Path, text: str, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0,0,0,1\n0.005,0,0,1\n", ["line 1", "no header", "add the line t,ax,ay,az"]),
        (
            "# c\ntime,x,y,z\n0,0,0,1\n",
            ["line 2", "expected the header t,ax,ay,az", "'time,x,y,z'"],
        ),
        ("\nt,ax,ay,az\n0,0,0,1\n", ["line 1", "blank line where the header"]),
        ("# only a comment\n", ["no header line"]),
        (CLEAN + "0.02,0,1\n", ["line 6", "expected 4 fields", "got 3"]),
        (CLEAN + "0.02,0,0,1,5\n", ["line 6", "expected 4 fields", "got 5"]),
        ("t,ax,ay,az\n0,0,0,1\n0.1,0,abc,1\n", ["line 3", "ay is not a number: 'abc'"]),
        ("t,ax,ay,az\n0,0,0,1\n0.1,0,,1\n", ["line 3", "ay is empty"]),
        ("t,ax,ay,az\n0,0,0,1\n0.1,0,0,nan\n", ["line 3", "az is nan"]),
        ("t,ax,ay,az\n0,0,0,1\n0.1,-inf,0,1\n", ["line 3", "ax is -inf"]),
        (
            CLEAN + "0.015,0,0,1\n",
            ["line 6", "not strictly increasing", "previous t 0.015", "this t 0.015"],
        ),
        (CLEAN.replace("0.010", "0.001"), ["line 4", "previous t 0.005, this t 0.001", "sort"]),
        ("t,ax,ay,az\n0,0,0,1\n", ["only 1 sample", "at least 2"]),
        ("t,ax,ay,az\n\n\n", ["no samples"]),
        (CLEAN + "0.02,0,0,70\n", ["line 6", "az = 70.0 g is beyond ±64 g"]),
        (CLEAN + "\n0.02,0,0,1\n", ["line 6", "blank line in the middle", "delete it"]),
        (CLEAN + "# late\n0.02,0,0,1\n", ["line 6", "comment after the header"]),
        (
            "t,ax,ay,az\n" + "".join(f"{i / 200},0,0,9.81\n" for i in range(50)),
            ["lines 2-51", "m/s²", "divide", "9.81"],
        ),
    ],
)
@pytest.mark.parametrize("chunk", [None, 5])
def test_bad_csv(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    expected: list[str],
    chunk: int | None,
) -> None:
    if chunk:
        monkeypatch.setattr(recording_csv, "CHUNK_BYTES", chunk)
    message = error_of(csv_file(tmp_path, text))
    for part in expected:
        assert part in message, message


def test_first_error_in_file_order(tmp_path: Path) -> None:
    # A NaN on line 3 comes before the malformed line 5 in the same chunk.
    text = "t,ax,ay,az\n0,0,0,1\n0.1,nan,0,1\n0.2,0,0,1\n0.3,0,1\n"
    assert "line 3: ax is nan" in error_of(csv_file(tmp_path, text))


def test_late_error_is_raised_from_blocks_after_good_blocks(tmp_path: Path) -> None:
    t, acc = samples(200_000)
    path = write(tmp_path / "late.csv", t, acc, piece=50_000)
    lines = path.read_bytes().split(b"\n")
    lines[150_001] = b"12.5,0.1,oops,1"  # line 150002 as an editor counts
    path.write_bytes(b"\n".join(lines))
    rec = open_recording(path, 4096)
    read = 0
    with pytest.raises(RecordingError, match=r"line 150002: ay is not a number: 'oops'"):
        for block in rec.blocks():
            read += len(block)
    rec.close()
    assert 100_000 < read <= 150_000


def test_missing_empty_and_unknown(tmp_path: Path) -> None:
    assert "no such file" in error_of(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "empty.npz").write_bytes(b"")
    assert "the file is empty" in error_of(tmp_path / "empty.csv")
    assert "the file is empty" in error_of(tmp_path / "empty.npz")
    (tmp_path / "night.txt").write_text(CLEAN)
    message = error_of(tmp_path / "night.txt")
    assert "unknown recording format ('.txt')" in message and ".csv or .npz" in message
    with pytest.raises(RecordingError, match=r"\.csv or \.npz"):
        RecordingWriter(tmp_path / "out.json")


def npz_file(tmp_path: Path, **arrays: object) -> Path:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


T4 = np.array([0.0, 0.005, 0.01, 0.015])
ACC4 = np.tile([0.0, 0.0, 1.0], (4, 1))


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        ({"time": T4, "acc": ACC4}, ["no array 't' (it has 'time', 'acc')", "np.savez"]),
        ({"t": T4}, ["no array 'acc' (it has 't')"]),
        ({"t": T4, "acc": np.zeros((4, 4))}, ["array 'acc'", "shape (4, 4), expected N×3"]),
        ({"t": T4, "acc": ACC4.T.copy()}, ["array 'acc'", "shape (3, 4)", "acc.T"]),
        ({"t": T4[:, None], "acc": ACC4}, ["array 't'", "shape (4, 1), expected (N,)"]),
        ({"t": T4[:3], "acc": ACC4}, ["3 samples in 't' but 4 rows in 'acc'"]),
        ({"t": T4.astype(str), "acc": ACC4}, ["array 't'", "dtype <U", "not numeric"]),
        ({"t": T4, "acc": ACC4.astype(object)}, ["array 'acc'", "dtype object is not numeric"]),
        ({"t": T4, "acc": ACC4 > 0}, ["array 'acc'", "dtype bool is not numeric"]),
        ({"t": T4[:1], "acc": ACC4[:1]}, ["only 1 sample"]),
        (
            {"t": T4, "acc": np.where(np.arange(12).reshape(4, 3) == 7, np.nan, ACC4)},
            ["array 'acc' at index 2", "ay is nan"],
        ),
        (
            {"t": T4[[0, 2, 1, 3]], "acc": ACC4},
            ["array 't' at index 2", "previous t 0.01, this t 0.005"],
        ),
        (
            {"t": T4, "acc": ACC4 * [1, 1, 80]},
            ["array 'acc' at index 0", "az = 80.0 g is beyond ±64 g"],
        ),
        (
            {"t": T4, "acc": ACC4 * 9.81},
            ["array 'acc' (first 4 samples)", "looks like m/s²", "divide"],
        ),
    ],
)
def test_bad_npz(tmp_path: Path, arrays: dict[str, object], expected: list[str]) -> None:
    message = error_of(npz_file(tmp_path, **arrays))
    for part in expected:
        assert part in message, message


def test_npz_not_a_zip_or_damaged(tmp_path: Path) -> None:
    path = tmp_path / "text.npz"
    path.write_text(CLEAN)
    assert "not an NPZ file (it is not a zip archive)" in error_of(path)
    t, acc = samples(5000)
    path = write(tmp_path / "damaged.npz", t, acc, compress=False)
    data = bytearray(path.read_bytes())
    data[20_000:20_010] = b"\xff" * 10  # inside t's data: the CRC no longer matches
    path.write_bytes(bytes(data))
    message = error_of(path)
    assert "array 't'" in message and "damaged" in message


# --- the writer ----------------------------------------------------------------------------


def test_writer_refuses_bad_samples_and_leaves_nothing_on_error(tmp_path: Path) -> None:
    path = tmp_path / "out.npz"
    with pytest.raises(ValueError, match="strictly increasing"), RecordingWriter(path) as w:
        w.write(T4, ACC4)
        w.write(T4 + 0.015, ACC4)  # 0.015 again
    with RecordingWriter(tmp_path / "out.csv") as w:
        with pytest.raises(ValueError, match="shape"):
            w.write(T4, ACC4[:, :2])
        with pytest.raises(ValueError, match="finite"):
            w.write(T4, ACC4 * np.nan)
        w.write(T4, ACC4)
    with pytest.raises(ValueError, match="after close"):
        w.write(T4 + 1, ACC4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with pytest.raises(RecordingError, match="no such file or folder"):
        RecordingWriter(tmp_path / "no" / "such.csv")
