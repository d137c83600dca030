"""LSM6DSO and LSM6DS3TR-C specifics (sensors.md §5, §6): identities, the registers configure
writes (checked against the §7 first-light values), the out-of-order FS_XL codes and the
datasheet's mg per step, little-endian data, SW_RESET polling, IF_INC and the FIFO ports; the
LSM6DSO's tagged 7-byte words (non-accelerometer words skipped), BDR_XL gate, word watermark
and 10-bit level; the LSM6DS3TR-C's untagged X/Y/Z word pattern (realigned on FIFO_PATTERN
after an overrun or a partial read), its two FIFO gates, 11-bit level and full FIFO; and the
self-test limits of each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from hypnic.drivers.acquire import Accelerometer
from hypnic.drivers.bus import Device
from hypnic.drivers.chip import ChipFault
from hypnic.drivers.chips import lsm6ds3trc as ds3
from hypnic.drivers.chips import lsm6dso as dso
from hypnic.drivers.chips.lsm6ds_common import LSM6DSDriver
from hypnic.drivers.emulated.base import EmulatedChip, resting
from hypnic.drivers.emulated.bus import EmulatedBus
from hypnic.drivers.emulated.lsm6ds3trc import EmulatedLSM6DS3TRC
from hypnic.drivers.emulated.lsm6dso import EmulatedLSM6DSO
from hypnic.drivers.irq import PinWaiter
from hypnic.drivers.timebase import VirtualClock

PAIRS: dict[str, tuple[type[LSM6DSDriver], type[EmulatedChip]]] = {
    "lsm6dso": (dso.LSM6DSO, EmulatedLSM6DSO),
    "lsm6ds3trc": (ds3.LSM6DS3TRC, EmulatedLSM6DS3TRC),
}
KEYS = list(PAIRS)
Source = Callable[[int, int], np.ndarray]


@dataclass
class Bench:
    clock: VirtualClock
    chip: Any
    bus: EmulatedBus
    device: Device
    driver: Any


def bench(key: str, source: Source = resting, rate_hz: float = 200.0, range_g: float = 2.0,
          address: int | None = None, **chip_kw: Any) -> Bench:
    driver_cls, chip_cls = PAIRS[key]
    clock = VirtualClock()
    chip = chip_cls(clock, source, address=address, **chip_kw)
    bus = EmulatedBus(chip)
    device = Device(bus, chip.address)
    return Bench(clock, chip, bus, device, driver_cls(device, rate_hz, range_g, clock))


def ramp(first: int, n: int) -> np.ndarray:
    """Sample k reads X = k·1 mg, Y = -k·1 mg, Z = 1 g (mod 1 g): every sample is different."""
    k = (np.arange(first, first + n) % 1000).astype(np.float64)
    return np.stack([k * 0.001, -k * 0.001, np.full(n, 1.0)], axis=1)


def constant(x: float, y: float, z: float) -> Source:
    return lambda first, n: np.tile([x, y, z], (n, 1))


def read_all(b: Bench) -> np.ndarray:
    got = [b.driver.read_fifo().acc_g for _ in range(3)]
    return np.concatenate(got)


# --- identity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "who"), [("lsm6dso", 0x6C), ("lsm6ds3trc", 0x6A)])
def test_identity_and_addresses(key: str, who: int) -> None:
    driver_cls, _ = PAIRS[key]
    assert driver_cls.spec.addresses == (0x6A, 0x6B)
    for address in (0x6A, 0x6B):
        b = bench(key, address=address)
        assert b.device.read(0x0F) == who
        assert driver_cls.identify(b.device) == driver_cls.spec.name


def test_the_two_chips_do_not_take_each_other_for_themselves() -> None:
    b = bench("lsm6dso")
    assert ds3.LSM6DS3TRC.identify(b.device) is None
    b = bench("lsm6ds3trc")
    assert dso.LSM6DSO.identify(b.device) is None


def test_the_ds3trc_docstring_says_its_id_is_shared() -> None:
    assert "LSM6DSL" in (ds3.__doc__ or "") and "LSM6DSM" in (ds3.__doc__ or "")


# --- rates, ranges, scale -----------------------------------------------------------------------


@pytest.mark.parametrize(("key", "top"), [("lsm6dso", 417.0), ("lsm6ds3trc", 416.0)])
def test_the_nearest_real_rate_is_chosen(key: str, top: float) -> None:
    for requested, chosen in ((50, 52.0), (100, 104.0), (200, 208.0), (400, top),
                              (800, 833.0)):
        assert bench(key, rate_hz=requested).driver.rate_hz == chosen


@pytest.mark.parametrize("key", KEYS)
def test_range_codes_are_out_of_order_and_the_scale_is_the_datasheets(key: str) -> None:
    # FS_XL: 00 ±2 g, 01 ±16 g, 10 ±4 g, 11 ±8 g; mg per step from the table, not range/32768.
    expected = {2: (0b00, 0.061), 4: (0b10, 0.122), 8: (0b11, 0.244), 16: (0b01, 0.488)}
    for range_g, (code, mg) in expected.items():
        b = bench(key, range_g=range_g)
        b.driver.configure(interrupt=False)
        assert (b.device.read(0x10) >> 2) & 0b11 == code
        assert b.driver.lsb_g == pytest.approx(mg / 1000.0)
        assert b.driver.lsb_g != pytest.approx(range_g * 2 / 65536)


@pytest.mark.parametrize("key", KEYS)
def test_codes_clip_at_int16_and_full_scale_is_about_2_g_at_2_g(key: str) -> None:
    b = bench(key, constant(3.0, -3.0, 0.5), range_g=2)
    b.driver.configure(interrupt=False)
    b.clock.sleep(0.1)
    acc = b.driver.read_fifo().acc_g
    assert acc[0, 0] == pytest.approx(32767 * 0.061e-3)
    assert acc[0, 1] == pytest.approx(-32768 * 0.061e-3)


@pytest.mark.parametrize("key", KEYS)
def test_output_registers_are_little_endian_int16(key: str) -> None:
    b = bench(key, constant(0.5, -0.25, 1.0), range_g=4)
    b.driver.configure(interrupt=False)
    b.clock.sleep(0.05)
    raw = b.device.read_burst(0x28, 6)
    counts = np.frombuffer(raw, dtype="<i2")
    np.testing.assert_allclose(counts * 0.122e-3, [0.5, -0.25, 1.0], atol=0.122e-3)
    assert raw[1] == (round(0.5 / 0.122e-3) >> 8) & 0xFF  # high byte second


# --- configuration ------------------------------------------------------------------------------


def test_lsm6dso_configure_writes_the_first_light_values() -> None:
    # §7: CTRL3_C 0x44, CTRL1_XL 0x40 (104 Hz, ±2 g), FIFO_CTRL3 0x04, FIFO_CTRL4 0x06,
    # INT1_CTRL 0x08, plus CTRL9_XL I3C_DISABLE over its 0xE0 reset value.
    b = bench("lsm6dso", rate_hz=100.0, range_g=2)
    b.driver.configure(interrupt=True)
    m = b.chip.mem
    assert m[0x12] == 0x44 and m[0x10] == 0x40 and m[0x09] == 0x04 and m[0x0A] == 0x06
    assert m[0x0D] == 0x08 and m[0x18] == 0xE2
    assert m[0x11] == 0x00  # gyroscope off
    wtm = m[0x07] | (m[0x08] & 0x01) << 8
    assert wtm == b.driver.watermark == 64  # in words: one per accelerometer sample
    b.driver.configure(interrupt=False)
    assert m[0x0D] == 0x00
    assert b.driver.is_configured()


def test_lsm6ds3trc_configure_writes_the_first_light_values() -> None:
    # §7: CTRL3_C 0x44, CTRL1_XL 0x40, FIFO_CTRL3 0x01, FIFO_CTRL5 0x26, INT1_CTRL 0x08.
    b = bench("lsm6ds3trc", rate_hz=100.0, range_g=2)
    b.driver.configure(interrupt=True)
    m = b.chip.mem
    assert m[0x12] == 0x44 and m[0x10] == 0x40 and m[0x08] == 0x01 and m[0x0A] == 0x26
    assert m[0x0D] == 0x08 and m[0x11] == 0x00
    fth = m[0x06] | (m[0x07] & 0x07) << 8
    assert fth == 3 * b.driver.watermark  # in words: X, Y, Z per sample
    assert b.driver.is_configured()


@pytest.mark.parametrize("key", KEYS)
def test_configuration_lost_is_noticed(key: str) -> None:
    b = bench(key)
    b.driver.configure(interrupt=False)
    assert b.driver.is_configured()
    b.device.write(0x12, 0x01)  # someone resets the chip
    assert not b.driver.is_configured()


# --- reset --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_sw_reset_restores_defaults_empties_the_fifo_and_clears_itself(key: str) -> None:
    b = bench(key)
    b.driver.configure(interrupt=True)
    b.clock.sleep(0.2)
    assert b.chip.fifo_count > 0
    b.device.write(0x12, 0x45)  # SW_RESET with other bits
    assert b.device.read(0x12) == 0x04  # reset value: IF_INC only, SW_RESET already 0
    assert b.device.read(0x10) == 0x00 and b.device.read(0x0D) == 0x00
    assert b.chip.fifo_count == 0 and not b.chip.measuring
    assert b.device.read(0x0F) == b.chip.mem[0x0F] != 0


class SlowResetDSO(EmulatedLSM6DSO):
    """SW_RESET reads back as set for the next ``busy_reads`` reads."""

    busy_reads = 3

    def soft_reset(self) -> None:
        super().soft_reset()
        self.busy = self.busy_reads

    def read(self, register: int, length: int) -> bytes:
        data = super().read(register, length)
        if register == 0x12 and getattr(self, "busy", 0) > 0:
            self.busy -= 1
            return bytes([data[0] | 0x01]) + data[1:]
        return data


def test_the_driver_waits_for_sw_reset_on_its_clock() -> None:
    clock = VirtualClock()
    chip = SlowResetDSO(clock)
    driver = dso.LSM6DSO(Device(EmulatedBus(chip), chip.address), 200.0, 2.0, clock)
    driver.configure(interrupt=False)
    assert clock.monotonic() == pytest.approx(3 * 0.001)
    assert driver.is_configured()
    chip.busy_reads = 10**6  # never finishes: a fault the acquisition loop recovers from
    with pytest.raises(ChipFault, match="SW_RESET"):
        driver.configure(interrupt=False)


# --- auto-increment and the FIFO ports -----------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_without_if_inc_a_burst_rereads_one_register(key: str) -> None:
    b = bench(key)
    assert b.device.read_burst(0x0F, 3) == bytes([b.chip.mem[0x0F]]) + bytes(2)  # steps on
    b.device.write(0x12, 0x00)  # IF_INC off
    assert b.device.read_burst(0x0F, 3) == bytes([b.chip.mem[0x0F]]) * 3


def test_lsm6dso_words_are_tag_plus_little_endian_xyz_and_a_burst_serves_many() -> None:
    b = bench("lsm6dso", ramp, range_g=2)
    b.driver.configure(interrupt=False)
    b.clock.sleep(10.5 / b.driver.rate_hz)  # ten samples
    status = b.device.read_burst(0x3A, 2)
    assert status[0] == 11  # a configuration-change word first, then ten samples
    first = b.device.read_burst(0x78, 7)
    assert first[0] >> 3 == dso.TAGS["config_change"]
    assert b.device.read_burst(0x3A, 1)[0] == 10  # DIFF_FIFO goes down one per word
    part = b.device.read_burst(0x78, 3)  # a partial word is not popped
    assert b.device.read_burst(0x3A, 1)[0] == 10
    words = np.frombuffer(b.device.read_burst(0x78, 4 * 7), dtype=np.uint8).reshape(4, 7)
    assert bytes(words[0, :3]) == part
    assert np.all(words[:, 0] >> 3 == dso.TAGS["accel"])
    assert list((words[:, 0] >> 1) & 0b11) == [0, 1, 2, 3]  # TAG_CNT counts batches
    xyz = words[:, 1:].copy().view("<i2")
    expected = np.rint(ramp(0, 4) / 0.061e-3)
    np.testing.assert_array_equal(xyz, expected)
    assert b.device.read_burst(0x3A, 1)[0] == 6


def test_lsm6dso_skips_timestamp_and_config_words() -> None:
    b = bench("lsm6dso", ramp)
    b.chip.stray_every = 7  # a timestamp word after every 7th sample
    b.driver.configure(interrupt=False)
    b.clock.sleep(1.0)
    raw_words = b.chip.fifo_count
    acc = read_all(b)
    assert raw_words > len(acc) > 0  # some words were not samples
    np.testing.assert_allclose(acc, ramp(0, len(acc)), atol=b.driver.lsb_g)


def test_lsm6dso_timestamp_batching_is_told_apart_through_the_loop() -> None:
    b = bench("lsm6dso", ramp)
    sensor = Accelerometer(b.driver, b.clock)
    blocks = sensor.blocks()
    first = next(blocks)
    # Turn timestamp batching on behind the driver's back: every 8th word is now a timestamp.
    b.device.write(0x0A, b.device.read(0x0A) | 0b10 << 6)
    got = [first] + [next(blocks) for _ in range(20)]
    acc = np.concatenate([blk.acc_g for blk in got])
    assert not any(blk.gap_before.any() for blk in got)
    np.testing.assert_allclose(acc, ramp(0, len(acc)), atol=b.driver.lsb_g)
    assert sensor.lost_samples == 0


def test_lsm6dso_fifo_is_empty_without_a_batch_rate() -> None:
    b = bench("lsm6dso")
    b.driver.configure(interrupt=False)
    b.device.write(0x09, 0x00)  # BDR_XL = 0: FIFO_MODE still continuous
    b.clock.sleep(0.1)
    b.driver.read_fifo()
    b.clock.sleep(0.5)
    assert b.chip.measuring
    assert b.device.read_burst(0x3A, 2) == bytes(2)
    assert len(b.driver.read_fifo()) == 0


def test_lsm6dso_watermark_flag_and_int1_in_words() -> None:
    factory = MockFactory()
    pin = factory.pin(17)
    clock = VirtualClock()
    chip = EmulatedLSM6DSO(clock, int_pin=pin)
    driver = dso.LSM6DSO(Device(EmulatedBus(chip), chip.address), 200.0, 2.0, clock)
    driver.configure(interrupt=True)
    assert not pin.state
    while chip.fifo_count < driver.watermark - 1:
        clock.sleep(0.001)
    assert not pin.state and not driver.device.read(0x3B) & 0x80
    while chip.fifo_count < driver.watermark:
        clock.sleep(0.001)
    assert pin.state and driver.device.read(0x3B) & 0x80  # FIFO_WTM_IA
    driver.read_fifo()
    assert not pin.state
    # H_LACTIVE = 1 turns the line active low.
    driver.device.write(0x12, 0x64)
    assert pin.state


def test_lsm6dso_full_fifo_level_overrun_flags() -> None:
    b = bench("lsm6dso", ramp)
    b.driver.configure(interrupt=False)
    b.clock.sleep(4.0)  # 832 samples into 512 words
    s1, s2 = b.device.read_burst(0x3A, 2)
    assert s1 | (s2 & 0b11) << 8 == 512  # 10-bit DIFF_FIFO can say 512
    assert s2 & 0x40 and s2 & 0x20 and s2 & 0x08  # FIFO_OVR_IA, FIFO_FULL_IA, latched
    assert not b.device.read(0x3B) & 0x08  # OVER_RUN_LATCHED cleared by the read
    read = b.driver.read_fifo()
    assert read.overrun and len(read) == 512
    # The newest 512 samples, in order.
    made = b.chip.samples_made
    np.testing.assert_allclose(read.acc_g, ramp(made - 512, 512), atol=b.driver.lsb_g)
    assert not b.driver.read_fifo().overrun


# --- LSM6DS3TR-C FIFO ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ctrl3", "ctrl5"), [(0x00, 0x2E), (0x01, 0x06)], ids=["dec-fifo-xl-000", "odr-fifo-0"],
)
def test_lsm6ds3trc_fifo_needs_both_fifo_odr_and_dec_001(ctrl3: int, ctrl5: int) -> None:
    b = bench("lsm6ds3trc")
    b.driver.configure(interrupt=False)
    b.device.write(0x08, ctrl3)
    b.device.write(0x0A, ctrl5)
    b.clock.sleep(0.5)
    assert b.chip.measuring and b.chip.fifo_count == 0
    assert b.device.read(0x3B) & 0x10  # FIFO_EMPTY


def test_lsm6ds3trc_words_are_x_y_z_and_the_pattern_says_which_is_next() -> None:
    b = bench("lsm6ds3trc", ramp, range_g=2)
    b.driver.configure(interrupt=False)
    b.clock.sleep(10.5 / b.driver.rate_hz)
    s = b.device.read_burst(0x3A, 4)
    assert s[0] == 30 and s[2] == 0  # 30 words, X next
    x0 = b.device.read_burst(0x3E, 2)
    assert b.device.read_burst(0x3C, 1)[0] == 1  # Y next
    assert np.frombuffer(x0, "<i2")[0] == 0
    low = b.device.read_burst(0x3E, 1)  # half a word: not popped
    assert b.device.read_burst(0x3C, 1)[0] == 1
    rest = np.frombuffer(b.device.read_burst(0x3E, 2 * 5), "<i2")  # a burst wraps 0x3F → 0x3E
    assert rest[0].tobytes()[:1] == low
    counts = np.rint(ramp(0, 3) / 0.061e-3).reshape(-1)
    np.testing.assert_array_equal(rest, counts[1:6])
    assert b.device.read_burst(0x3C, 1)[0] == 0 and b.device.read(0x3A) == 24


def test_lsm6ds3trc_realigns_after_a_partial_read() -> None:
    b = bench("lsm6ds3trc", ramp)
    b.driver.configure(interrupt=False)
    b.clock.sleep(0.1)
    b.device.read_burst(0x3E, 2)  # someone took sample 0's X
    acc = read_all(b)
    # Sample 0's Y and Z were dropped, not taken as X and Y of a shifted sample.
    np.testing.assert_allclose(acc, ramp(1, len(acc)), atol=b.driver.lsb_g)


def test_lsm6ds3trc_full_fifo_reads_0_words_but_not_empty_and_realigns() -> None:
    b = bench("lsm6ds3trc", ramp)
    b.driver.configure(interrupt=False)
    b.clock.sleep(10.0)  # 2080 samples: the FIFO overwrites word by word
    s = b.device.read_burst(0x3A, 4)
    assert s[0] == 0 and s[1] & 0x07 == 0 and not s[1] & 0x10  # 2048: 11 bits read 0
    assert s[1] & 0x40  # OVER_RUN
    made = b.chip.samples_made
    assert s[2] == (-2048) % 3  # the oldest whole sample lost its X: Y comes next
    read = b.driver.read_fifo()
    assert read.overrun and len(read) == 682
    np.testing.assert_allclose(read.acc_g, ramp(made - 682, 682), atol=b.driver.lsb_g)
    assert b.chip.fifo_count == 0 and not b.driver.read_fifo().overrun


def test_lsm6ds3trc_a_foreign_pattern_is_a_fault_not_a_guess(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b = bench("lsm6ds3trc")
    b.driver.configure(interrupt=False)
    b.clock.sleep(0.1)
    monkeypatch.setattr(b.chip, "pattern", lambda: 4)  # as if the gyroscope were batched too
    with pytest.raises(ChipFault, match="pattern"):
        b.driver.read_fifo()


def test_lsm6ds3trc_big_endian_setting_is_undone_by_configure() -> None:
    b = bench("lsm6ds3trc", constant(0.5, 0.0, 0.0))
    b.device.write(0x12, 0x06)  # BLE: high byte first
    b.device.write(0x10, 0x40)
    b.clock.sleep(0.05)
    assert np.frombuffer(b.device.read_burst(0x28, 2), ">i2")[0] == round(0.5 / 0.061e-3)
    b.driver.configure(interrupt=False)
    b.clock.sleep(0.1)
    np.testing.assert_allclose(read_all(b)[:, 0], 0.5, atol=b.driver.lsb_g)


def test_lsm6ds3trc_threshold_and_int1_in_words() -> None:
    factory = MockFactory()
    pin = factory.pin(17)
    clock = VirtualClock()
    chip = EmulatedLSM6DS3TRC(clock, int_pin=pin)
    driver = ds3.LSM6DS3TRC(Device(EmulatedBus(chip), chip.address), 200.0, 2.0, clock)
    driver.configure(interrupt=True)
    while chip.fifo_count < 3 * driver.watermark - 3:
        clock.sleep(0.001)
    assert not pin.state and not driver.device.read(0x3B) & 0x80
    while chip.fifo_count < 3 * driver.watermark:
        clock.sleep(0.001)
    assert pin.state and driver.device.read(0x3B) & 0x80  # WaterM
    assert len(driver.read_fifo()) == driver.watermark
    assert not pin.state


@pytest.mark.parametrize("key", KEYS)
def test_interrupt_driven_stream_through_the_loop(key: str) -> None:
    factory = MockFactory()
    b = bench(key, ramp, int_pin=factory.pin(17))
    sensor = Accelerometer(b.driver, b.clock, PinWaiter(b.clock, 17, pin_factory=factory))
    blocks = sensor.blocks()
    got = [next(blocks) for _ in range(30)]
    acc = np.concatenate([blk.acc_g for blk in got])
    np.testing.assert_allclose(acc, ramp(0, len(acc)), atol=b.driver.lsb_g)
    assert sensor.lost_samples == 0
    # Transfers per read: one status burst and one data burst.
    assert b.device.bytes_read / b.device.transfers > 100


# --- self-test ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_self_test_runs_at_4_g_and_52_hz_and_leaves_the_chip_off(key: str) -> None:
    b = bench(key, rate_hz=400.0, range_g=16)
    seen: list[tuple[float, Any]] = []
    real = b.chip.write

    def spy(register: int, data: bytes) -> None:
        real(register, data)
        if register == 0x14 and data[0] & 0b11 == 0b01:
            seen.append((b.chip.odr_hz(), b.chip._get("CTRL1_XL", "FS_XL")))

    b.chip.write = spy  # type: ignore[method-assign]
    result = b.driver.self_test()
    assert seen == [(52.0, 4)]
    assert result.passed and result.deflection_g == pytest.approx((0.4, 0.4, 0.6), abs=0.001)
    assert b.chip.mem[0x14] & 0b11 == 0 and not b.chip.measuring
    assert b.driver.rate_hz in (416.0, 417.0) and b.driver.range_g == 16


def test_self_test_limits_differ_50_mg_and_90_mg() -> None:
    for key, passes in (("lsm6dso", True), ("lsm6ds3trc", False)):
        b = bench(key)
        b.chip.self_test_g = (0.07, 0.07, 0.07)
        result = b.driver.self_test()
        assert result.passed is passes, result.describe()
    b = bench("lsm6dso")
    b.chip.self_test_g = (0.4, 0.4, 1.8)  # over the maximum on Z
    assert not b.driver.self_test().passed
