"""MPU-6050 family specifics (sensors.md §3): three models told apart by WHO_AM_I, asleep at
power-on, big-endian data, a FIFO counted in bytes and read through a port that does not
auto-increment, overflow that misaligns frames, DATA_RDY latched in place of a watermark
interrupt, and the factory-trim self-test."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from hypnic.drivers.bus import Device
from hypnic.drivers.chip import ChipFault
from hypnic.drivers.chips import mpu6050 as chip_module
from hypnic.drivers.chips.mpu6050 import (
    A_DLPF_BW_6500,
    DLPF_BW_6050,
    MPU6050,
    REGS,
    factory_trim_g,
    self_test_limits_g,
    trim_codes,
)
from hypnic.drivers.emulated import mpu6050 as emulator_module
from hypnic.drivers.emulated.mpu6050 import (
    TRIM_BYTES_6050,
    TRIM_BYTES_6500,
    EmulatedMPU6050,
)
from hypnic.drivers.emulated.rig import Rig, build_rig
from hypnic.drivers.timebase import VirtualClock

A = REGS.address
MODELS = ["MPU-6050", "MPU-6500", "MPU-9250"]
IDS = {"MPU-6050": 0x68, "MPU-6500": 0x70, "MPU-9250": 0x71}


def rig_for(model: str = "MPU-6050", source: Any = None, **kw: Any) -> Rig:
    if source is None:
        return build_rig("mpu6050", VirtualClock(), model=model, **kw)
    return build_rig("mpu6050", VirtualClock(), source, model=model, **kw)


def configured(model: str = "MPU-6050", source: Any = None, interrupt: bool = False,
               **kw: Any) -> Rig:
    """A rig whose driver has identified and configured the chip, as the loop would, half a
    sample period in: from here a sleep of n periods makes exactly n samples."""
    rig = rig_for(model, source, **kw)
    rig.driver.model = rig.driver.identify(rig.driver.device) or "?"
    rig.driver.configure(interrupt=interrupt)
    rig.clock.sleep(0.5 / rig.driver.rate_hz)
    return rig


def counting(first: int, n: int) -> np.ndarray:
    """Sample k carries k in its X code at ±16 g (1/2048 g per code): reads show indices."""
    k = np.arange(first, first + n, dtype=np.float64) % 30000
    return np.stack([k / 2048.0, -k / 2048.0, np.full(n, 0.5)], axis=1)


def indices(acc: np.ndarray) -> np.ndarray:
    return np.rint(acc[:, 0] * 2048.0).astype(int)


def constant(x: float, y: float, z: float):
    def source(first: int, n: int) -> np.ndarray:
        return np.tile([x, y, z], (n, 1))

    return source


def fifo_count(rig: Rig) -> int:
    return int.from_bytes(rig.driver.device.read_burst(A("FIFO_COUNTH"), 2), "big")


# --- identity and power-on --------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_each_model_has_its_identity_fifo_and_power_on_state(model: str) -> None:
    chip = EmulatedMPU6050(VirtualClock(), model=model)
    assert chip.address == 0x68
    assert chip.mem[A("WHO_AM_I")] == IDS[model]
    assert chip.fifo_bytes == (1024 if model == "MPU-6050" else 512)
    if model == "MPU-6050":
        assert chip.mem[A("PWR_MGMT_1")] == 0x40 and not chip.measuring  # asleep
    else:
        assert chip.mem[A("PWR_MGMT_1")] == 0x01 and chip.measuring  # awake, CLKSEL 1
    assert MPU6050.identify(Device(rig_for(model).bus, 0x68)) == model


@pytest.mark.parametrize(("who_am_i", "model"), [
    (0x68, "MPU-6050"), (0x69, "MPU-6050"), (0xE8, "MPU-6050"), (0xE9, "MPU-6050"),
    (0x70, "MPU-6500"), (0x71, "MPU-9250"), (0x00, None), (0x98, None), (0x72, None),
    (0x34, None),
])
def test_the_6050_identity_is_read_from_bits_6_to_1(who_am_i: int, model: str | None) -> None:
    rig = rig_for()
    rig.chip.mem[A("WHO_AM_I")] = who_am_i
    assert MPU6050.identify(rig.driver.device) == model


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("wired", [False, True])
def test_every_model_streams_what_it_was_fed(model: str, wired: bool) -> None:
    def fed(first: int, n: int) -> np.ndarray:
        """X: the sample's index; Y, Z: a wave of it."""
        k = np.arange(first, first + n, dtype=np.float64)
        return np.stack([k / 2048.0, 12.0 * np.sin(k / 37.0), 0.9 + 0.05 * np.cos(k / 11.0)],
                        axis=1)

    kw: dict[str, Any] = {"int_pin": 17, "pin_factory": MockFactory()} if wired else {}
    rig = rig_for(model, fed, range_g=16.0, **kw)
    blocks = []
    for block in rig.sensor.blocks():
        blocks.append(block)
        if block.t_s[-1] >= 3.0:
            break
    acc = np.concatenate([b.acc_g for b in blocks])
    assert rig.driver.model == model
    # The 6500/9250 come out of reset awake, so their first FIFO sample need not be index 0.
    k = indices(acc)
    assert np.array_equal(k, np.arange(k[0], k[0] + len(k)))
    assert k[0] == 0 or model != "MPU-6050"
    assert np.abs(acc - fed(int(k[0]), len(acc))).max() <= rig.driver.lsb_g
    assert rig.sensor.lost_samples == 0
    assert len(acc) >= 0.9 * 3.0 * 200.0


def test_asleep_until_woken_and_woken_by_configure() -> None:
    rig = rig_for("MPU-6050", constant(0.0, 0.0, 1.0))
    rig.clock.sleep(1.0)
    data = rig.driver.device.read_burst(A("ACCEL_XOUT_H"), 6)
    assert data == bytes(6) and fifo_count(rig) == 0  # asleep: nothing measured
    rig.driver.configure(interrupt=False)
    assert rig.chip.mem[A("PWR_MGMT_1")] == 0x01  # awake, on the X gyro's PLL
    rig.clock.sleep(0.1)
    assert rig.driver.device.read_burst(A("ACCEL_XOUT_H"), 6) == struct.pack(">hhh", 0, 0, 16384)


def test_device_reset_clears_itself_and_restores_power_on_values() -> None:
    rig = configured()
    rig.clock.sleep(0.1)
    assert fifo_count(rig) > 0
    d = rig.driver.device
    d.write(A("PWR_MGMT_1"), 0x80)
    assert d.read(A("PWR_MGMT_1")) == 0x40  # DEVICE_RESET already clear; asleep again
    assert d.read(A("SMPLRT_DIV")) == 0 and d.read(A("FIFO_EN")) == 0
    assert fifo_count(rig) == 0
    assert not rig.driver.is_configured()


def test_configure_waits_for_the_reset_and_wakes_last() -> None:
    rig = rig_for()
    writes: list[tuple[int, int]] = []
    real = rig.chip.write
    rig.chip.write = lambda reg, data: (writes.append((reg, data[0])), real(reg, data))[1]
    start = rig.clock.monotonic()
    rig.driver.configure(interrupt=False)
    assert writes[0] == (A("PWR_MGMT_1"), 0x80)
    assert writes[1] == (A("PWR_MGMT_1"), 0x41)  # asleep, PLL, while configuring
    assert writes[-1] == (A("PWR_MGMT_1"), 0x01)  # wake: FIFO armed before the first sample
    # The emulated reset is over at once: one poll of the bit, not a blind 100 ms.
    assert rig.clock.monotonic() - start == pytest.approx(chip_module.RESET_POLL_S)


def test_a_reset_that_never_finishes_is_a_chip_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = rig_for()
    real = rig.chip.read
    # The bit reads as set forever (a chip stuck in reset).
    monkeypatch.setattr(rig.chip, "read", lambda reg, n: bytes([0x80]) if reg == A("PWR_MGMT_1")
                        else real(reg, n))
    with pytest.raises(ChipFault, match="DEVICE_RESET"):
        rig.driver.configure(interrupt=False)


def test_a_configuration_that_does_not_take_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = rig_for()
    real = rig.chip.write
    monkeypatch.setattr(rig.chip, "write", lambda reg, data: None if reg == A("SMPLRT_DIV")
                        else real(reg, data))
    with pytest.raises(ChipFault, match="did not take"):
        rig.driver.configure(interrupt=False)


@pytest.mark.parametrize("model", MODELS)
def test_a_reset_is_noticed_on_every_model(model: str) -> None:
    rig = configured(model)
    assert rig.driver.is_configured()
    rig.chip.power_on_reset()  # the 6500/9250 come back awake with PWR_MGMT_1 = 0x01 ...
    assert not rig.driver.is_configured()  # ... but with their FIFO off


# --- data format -------------------------------------------------------------------------------


@pytest.mark.parametrize(("range_g", "lsb_per_g"), [(2, 16384), (4, 8192), (8, 4096), (16, 2048)])
def test_output_is_big_endian_int16_at_every_range(range_g: int, lsb_per_g: int) -> None:
    rig = configured(source=constant(-1.0, 0.5, 1.0), range_g=range_g)
    assert rig.chip.mem[A("ACCEL_CONFIG")] == {2: 0x00, 4: 0x08, 8: 0x10, 16: 0x18}[range_g]
    rig.clock.sleep(0.05)
    codes = (-lsb_per_g, lsb_per_g // 2, lsb_per_g)
    assert rig.driver.device.read_burst(A("ACCEL_XOUT_H"), 6) == struct.pack(">hhh", *codes)
    assert rig.driver.device.read_burst(A("FIFO_R_W"), 6) == struct.pack(">hhh", *codes)
    assert rig.driver.lsb_g == pytest.approx(1.0 / lsb_per_g)
    acc = rig.driver.read_fifo().acc_g
    assert np.allclose(acc, [-1.0, 0.5, 1.0], atol=rig.driver.lsb_g)


def test_out_of_range_saturates_at_the_int16_limits() -> None:
    rig = configured(source=constant(3.0, -3.0, 0.0), range_g=2)
    rig.clock.sleep(0.05)
    assert rig.driver.device.read_burst(A("FIFO_R_W"), 6) == struct.pack(">hhh", 32767, -32768, 0)


# --- rates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("requested", "rate", "divider"), [
    (50, 50, 19), (100, 100, 9), (125, 125, 7), (200, 200, 4), (250, 250, 3),
    (400, 500, 1),  # 1000/400 - 1 is not whole: the nearest real rate
    (500, 500, 1), (800, 500, 1),
])
@pytest.mark.parametrize("model", ["MPU-6050", "MPU-9250"])
def test_rate_divider_and_dlpf(model: str, requested: float, rate: float, divider: int) -> None:
    rig = configured(model, rate_hz=requested)
    assert rig.driver.rate_hz == rate
    mem = rig.chip.mem
    assert mem[A("SMPLRT_DIV")] == divider
    dlpf = REGS.get("CONFIG", mem[A("CONFIG")], "DLPF_CFG")
    assert 1 <= dlpf <= 6  # the divider only works with the DLPF on
    assert rig.chip.odr_hz() == rate
    if model == "MPU-6050":
        bw = DLPF_BW_6050[dlpf]
        assert mem[A("ACCEL_CONFIG2")] == 0  # a reserved address there: left alone
    else:
        bw = A_DLPF_BW_6500[REGS.get("ACCEL_CONFIG2", mem[A("ACCEL_CONFIG2")], "A_DLPF_CFG")]
    # The widest filter that still keeps the band under Nyquist.
    assert bw < rate / 2
    table = DLPF_BW_6050 if model == "MPU-6050" else A_DLPF_BW_6500
    assert not any(bw < b < rate / 2 for c, b in table.items() if 1 <= c <= 6)


def test_the_chip_really_runs_at_the_divided_rate() -> None:
    rig = configured(rate_hz=125)
    made = rig.chip.samples_made
    rig.clock.sleep(0.8)
    assert rig.chip.samples_made - made == 100


# --- FIFO registers ----------------------------------------------------------------------------


def test_fifo_count_is_a_byte_count_latched_by_its_high_byte() -> None:
    rig = configured()
    d = rig.driver.device
    rig.clock.sleep(0.1)  # 20 samples at 200 Hz
    assert d.read_burst(A("FIFO_COUNTH"), 2) == (120).to_bytes(2, "big")
    rig.clock.sleep(0.1)
    assert d.read(A("FIFO_COUNTL")) == 120  # still the latched value ...
    assert d.read_burst(A("FIFO_COUNTH"), 2) == (240).to_bytes(2, "big")  # ... until H is read
    rig.clock.sleep(0.1)
    assert d.read_burst(A("FIFO_COUNTH"), 2) == (360).to_bytes(2, "big")  # high byte used


def test_the_fifo_port_does_not_auto_increment() -> None:
    rig = configured(source=counting, range_g=16)
    d = rig.driver.device
    rig.clock.sleep(0.015)  # 3 samples
    raw = d.read_burst(A("FIFO_R_W"), 12)  # two frames, not FIFO_R_W then WHO_AM_I ...
    assert struct.unpack(">6h", raw) == (0, 0, 1024, 1, -1, 1024)
    # ... and past the end of the FIFO the last byte comes again.
    assert d.read_burst(A("FIFO_R_W"), 9) == struct.pack(">3h", 2, -2, 1024) + bytes([0x00] * 3)
    assert fifo_count(rig) == 0


def test_fifo_reset_is_ignored_while_the_fifo_is_enabled() -> None:
    rig = configured()
    d = rig.driver.device
    rig.clock.sleep(0.05)
    d.write(A("FIFO_EN"), 0)  # hold the level still
    level = fifo_count(rig)
    assert level == 60
    d.write(A("USER_CTRL"), 0x44)  # FIFO_EN | FIFO_RESET: no effect
    assert fifo_count(rig) == level
    d.write(A("USER_CTRL"), 0x04)  # FIFO_RESET alone: empties it
    assert fifo_count(rig) == 0
    assert d.read(A("USER_CTRL")) == 0x00  # the reset bit clears itself


def test_frames_follow_register_order_when_more_is_enabled() -> None:
    rig = configured(source=constant(0.0, 0.0, 1.0))
    d = rig.driver.device
    d.write(A("FIFO_EN"), REGS.compose("FIFO_EN", ACCEL=1, TEMP=1, ZG=1))
    d.write(A("USER_CTRL"), 0x04)
    d.write(A("USER_CTRL"), 0x40)
    rig.clock.sleep(0.01)  # 2 samples of accel, temperature, gyro Z: 10 bytes each
    assert fifo_count(rig) == 20
    x, y, z, temp, gz = struct.unpack(">5h", d.read_burst(A("FIFO_R_W"), 10))
    assert (x, y, z, gz) == (0, 0, 16384, 0)
    assert temp / 340.0 + 36.53 == pytest.approx(25.0, abs=0.01)


# --- overflow ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "size"), [("MPU-6050", 1024), ("MPU-6500", 512)])
def test_overflow_drops_the_oldest_bytes_and_misaligns_frames(model: str, size: int) -> None:
    rig = configured(model, source=counting, interrupt=True, range_g=16)
    d = rig.driver.device
    rig.clock.sleep(3.0)
    made = rig.chip.samples_made
    assert fifo_count(rig) == size
    status = d.read(A("INT_STATUS"))
    assert REGS.flag("INT_STATUS", status, "FIFO_OFLOW")
    assert not REGS.flag("INT_STATUS", d.read(A("INT_STATUS")), "FIFO_OFLOW")  # clear on read
    raw = d.read_burst(A("FIFO_R_W"), size)
    partial = size % 6
    # Read from the head, the frames are shifted: X is not a sample index any more ...
    naive = np.frombuffer(raw[: size - partial], dtype=">i2").reshape(-1, 3)
    assert not np.array_equal(naive[:, 1], -naive[:, 0])
    # ... while after the partial frame they are the newest samples, whole and in order.
    frames = np.frombuffer(raw[partial:], dtype=">i2").reshape(-1, 3)
    assert np.array_equal(frames[:, 0], np.arange(made - len(frames), made))
    assert np.array_equal(frames[:, 1], -frames[:, 0])


@pytest.mark.parametrize(("model", "frames"), [("MPU-6050", 170), ("MPU-6500", 85)])
def test_after_an_overflow_the_driver_keeps_the_whole_frames_and_resets(model: str,
                                                                         frames: int) -> None:
    rig = configured(model, source=counting, range_g=16)
    rig.clock.sleep(0.2)
    first = rig.driver.read_fifo()
    k0 = indices(first.acc_g)[0]  # 0 on the 6050; the 6500 sampled while it was resetting
    assert not first.overrun and np.array_equal(indices(first.acc_g), np.arange(k0, k0 + 40))
    rig.clock.sleep(3.0)
    made = rig.chip.samples_made
    read = rig.driver.read_fifo()
    assert read.overrun
    # Exactly the newest whole frames, none of them shifted.
    assert np.array_equal(indices(read.acc_g), np.arange(made - frames, made))
    assert fifo_count(rig) == 0 and rig.chip.mem[A("FIFO_EN")] == 0x08  # reset and running
    assert rig.chip.samples_dropped == made - k0 - 40 - frames
    rig.clock.sleep(0.2)
    after = rig.driver.read_fifo()
    assert not after.overrun  # the recovery took no time: nothing missed since
    assert np.array_equal(indices(after.acc_g), np.arange(made, made + 40))


def test_a_nearly_full_fifo_is_drained_before_it_can_overflow() -> None:
    rig = configured(source=counting, range_g=16)
    rig.clock.sleep(0.84)  # 168 frames: 1008 bytes, past size - 3 frames
    assert fifo_count(rig) == 1008
    read = rig.driver.read_fifo()
    assert not read.overrun  # nothing was lost ...
    assert np.array_equal(indices(read.acc_g), np.arange(168))
    assert fifo_count(rig) == 0  # ... and the FIFO was reset all the same
    assert rig.chip.samples_dropped == 0


def test_time_spent_recovering_is_reported_as_an_overrun_on_the_next_read() -> None:
    rig = configured(source=counting, range_g=16)
    rig.clock.sleep(3.0)
    rig.bus.slow_s = 0.01  # the drain and reset take ~8 transfers: ~16 samples missed
    read = rig.driver.read_fifo()
    rig.bus.slow_s = 0.0
    assert read.overrun and len(read) == 170
    rig.clock.sleep(0.2)
    after = rig.driver.read_fifo()
    assert after.overrun  # the frames made while the FIFO was stopped are gone too
    gap = indices(after.acc_g)[0] - indices(read.acc_g)[-1] - 1
    assert gap > 0


def test_stop_when_full_mode_keeps_the_oldest_frames_on_the_6500() -> None:
    rig = configured("MPU-6500", source=counting, range_g=16)
    d = rig.driver.device
    d.write(A("CONFIG"), d.read(A("CONFIG")) | REGS.compose("CONFIG", FIFO_MODE=1))
    k0 = rig.chip.samples_made
    rig.clock.sleep(3.0)
    assert fifo_count(rig) == 510  # 85 whole frames; the 86th did not fit
    assert rig.chip.samples_dropped == 600 - 85
    raw = d.read_burst(A("FIFO_R_W"), 510)
    assert np.array_equal(np.frombuffer(raw, dtype=">i2")[::3], np.arange(k0, k0 + 85))


# --- interrupt ---------------------------------------------------------------------------------


def test_data_ready_is_latched_on_int_until_int_status_is_read() -> None:
    factory = MockFactory()
    rig = configured(int_pin=17, pin_factory=factory, interrupt=True)
    pin = factory.pin(17)
    mem = rig.chip.mem
    assert mem[A("INT_PIN_CFG")] == 0x20  # latched, active high, push-pull
    assert mem[A("INT_ENABLE")] == 0x11  # DATA_RDY and FIFO_OFLOW
    assert pin.state == 0
    rig.clock.sleep(0.006)
    assert pin.state == 1
    rig.clock.sleep(0.05)
    rig.driver.device.read(A("WHO_AM_I"))
    assert pin.state == 1  # other reads leave it (INT_RD_CLEAR = 0)
    rig.driver.device.read(A("INT_STATUS"))
    assert pin.state == 0
    rig.clock.sleep(0.006)
    assert pin.state == 1


def test_polling_leaves_the_line_alone() -> None:
    factory = MockFactory()
    rig = configured(int_pin=17, pin_factory=factory, interrupt=False)
    rig.clock.sleep(0.5)
    assert rig.chip.mem[A("INT_ENABLE")] == 0 and factory.pin(17).state == 0


def test_active_low_and_any_read_clears_options_are_honoured() -> None:
    factory = MockFactory()
    rig = configured(int_pin=17, pin_factory=factory, interrupt=True)
    pin, d = factory.pin(17), rig.driver.device
    d.write(A("INT_PIN_CFG"), REGS.compose("INT_PIN_CFG", INT_LEVEL=1, LATCH_INT_EN=1,
                                           INT_RD_CLEAR=1))
    d.read(A("INT_STATUS"))
    assert pin.state == 1  # idle high when active low
    rig.clock.sleep(0.006)
    assert pin.state == 0
    d.read(A("WHO_AM_I"))  # any read clears
    assert pin.state == 1


def test_with_the_line_reads_come_in_whole_watermarks() -> None:
    rig = configured(source=counting, interrupt=True, range_g=16)
    wm = rig.driver.watermark
    assert wm == 42  # half the 6500's 512-byte FIFO, for every model
    rig.clock.sleep((wm - 1) / 200.0)
    assert len(rig.driver.read_fifo()) == 0  # below the watermark: not yet
    rig.clock.sleep(10 / 200.0)
    read = rig.driver.read_fifo()
    assert np.array_equal(indices(read.acc_g), np.arange(wm))  # the rest waits its turn
    rig.clock.sleep(90 / 200.0)
    assert len(rig.driver.read_fifo()) == 2 * wm  # a backlog goes in whole watermarks
    assert fifo_count(rig) // 6 == 51 + 90 - 3 * wm


# --- self-test ---------------------------------------------------------------------------------


def test_trim_codes_are_put_together_from_their_split_bits() -> None:
    assert trim_codes("MPU-6050", TRIM_BYTES_6050) == (13, 15, 17)
    assert trim_codes("MPU-6050", bytes([0xE0, 0x00, 0x1F, 0x30])) == (31, 0, 0)
    assert trim_codes("MPU-9250", TRIM_BYTES_6500 + bytes(1)) == (112, 116, 122)


def test_factory_trim_and_the_pass_window() -> None:
    assert factory_trim_g("MPU-6050", 1) == pytest.approx(0.34)
    assert factory_trim_g("MPU-6050", 11) == pytest.approx(0.34 * 1.034**10)
    lo, hi = self_test_limits_g("MPU-6050", 11)
    assert (lo, hi) == pytest.approx((0.86 * 0.34 * 1.034**10, 1.14 * 0.34 * 1.034**10))
    assert self_test_limits_g("MPU-6050", 0) == (0.30, 0.95)
    assert factory_trim_g("MPU-6500", 1) == pytest.approx(2620 / 16384)
    lo, hi = self_test_limits_g("MPU-6500", 101)
    ft = 2620 / 16384 * 1.01**100
    assert (lo, hi) == pytest.approx((0.5 * ft, 1.5 * ft))
    assert self_test_limits_g("MPU-9250", 0) == (0.225, 0.675)


def test_the_6050_self_test_runs_at_8_g_with_all_three_axes() -> None:
    rig = rig_for()
    seen: list[int] = []
    real = rig.chip.write
    rig.chip.write = lambda reg, data: (  # type: ignore[method-assign]
        seen.append(data[0]) if reg == A("ACCEL_CONFIG") else None, real(reg, data))[1]
    result = rig.driver.self_test()
    assert seen == [0x10, 0xF0, 0x10]  # ±8 g, then XA/YA/ZA_ST on, then off
    assert result.passed, result.describe()
    for d, code, (lo, hi) in zip(result.deflection_g, (13, 15, 17), result.limits_g,
                                 strict=True):
        ft = factory_trim_g("MPU-6050", code)
        assert (lo, hi) == pytest.approx((0.86 * ft, 1.14 * ft))
        assert d == pytest.approx(1.02 * ft, abs=1 / 4096)


@pytest.mark.parametrize(("gain", "passes"), [(1.12, True), (0.88, True), (1.17, False),
                                               (0.8, False)])
def test_the_self_test_holds_the_response_to_14_percent_of_the_trim(
        monkeypatch: pytest.MonkeyPatch, gain: float, passes: bool) -> None:
    monkeypatch.setattr(emulator_module, "SELF_TEST_GAIN", gain)
    assert rig_for().driver.self_test().passed is passes


def test_an_untrimmed_part_is_judged_on_the_generic_window() -> None:
    rig = rig_for()
    rig.chip.trim_bytes = bytes(4)  # factory OTP: a reset does not change it
    result = rig.driver.self_test()
    assert result.limits_g == ((0.30, 0.95),) * 3
    assert result.passed, result.describe()
    assert "generic window" in " ".join(result.notes)


@pytest.mark.parametrize("model", ["MPU-6500", "MPU-9250"])
def test_the_6500_family_self_test(model: str) -> None:
    rig = rig_for(model)
    result = rig.driver.self_test()
    assert result.chip == model
    assert result.passed, result.describe()
    assert rig.chip.mem[A("ACCEL_CONFIG")] == 0x00  # run at ±2 g
    rig.chip.self_test_broken = True
    assert not rig.driver.self_test().passed


def test_the_self_test_identifies_the_chip_itself() -> None:
    rig = rig_for("MPU-9250")
    assert rig.driver.model == "MPU-6050"  # the family name until identified
    rig.driver.self_test()
    assert rig.driver.model == "MPU-9250"
    rig.chip.mem[A("WHO_AM_I")] = 0x00
    with pytest.raises(OSError, match="no MPU-6050 family chip"):
        rig.driver.self_test()
