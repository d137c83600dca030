"""LIS3DH specifics: the auto-increment bit, the left-justified data, the FIFO level that
cannot say 32, the registers configure writes, and the self-test procedure (sensors.md §2)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from hypnic.drivers.bus import Device
from hypnic.drivers.chips.lis3dh import LIS3DH, REGS
from hypnic.drivers.emulated.lis3dh import EmulatedLIS3DH
from hypnic.drivers.emulated.rig import Rig, build_rig
from hypnic.drivers.timebase import VirtualClock

A = REGS.address


def rig_at(rate_hz: float = 200.0, range_g: float = 2.0, source: Any = None, **kw: Any) -> Rig:
    if source is None:
        return build_rig("lis3dh", VirtualClock(), rate_hz=rate_hz, range_g=range_g, **kw)
    return build_rig("lis3dh", VirtualClock(), source, rate_hz=rate_hz, range_g=range_g, **kw)


def constant(x: float, y: float, z: float):
    def source(first: int, n: int) -> np.ndarray:
        return np.tile([x, y, z], (n, 1))

    return source


def spy_register_bytes(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The register byte of every combined transfer the driver makes."""
    seen: list[int] = []
    real = rig.bus.i2c_rdwr

    def spy(*msgs: Any) -> None:
        seen.extend(bytes(m.buf[: m.len])[0] for m in msgs if not m.flags & 1)
        real(*msgs)

    monkeypatch.setattr(rig.bus, "i2c_rdwr", spy)
    return seen


# --- identity and power-on ------------------------------------------------------------------


def test_power_on_values_and_identity() -> None:
    chip = EmulatedLIS3DH(VirtualClock())
    assert chip.address == 0x18
    assert chip.mem[A("WHO_AM_I")] == 0x33
    assert chip.mem[A("CTRL_REG1")] == 0x07  # power-down, X/Y/Z enabled
    assert chip.mem[A("CTRL_REG0")] == 0x10
    assert not chip.measuring
    assert LIS3DH.identify(Device(build_rig("lis3dh", VirtualClock()).bus, 0x18)) == "LIS3DH"


def test_the_nearest_real_rate_is_chosen() -> None:
    assert LIS3DH.spec.nearest_rate_hz(120.0) == 100.0
    assert LIS3DH.spec.nearest_rate_hz(800.0) == 400.0
    assert LIS3DH.spec.nearest_rate_hz(52.0) == 50.0


# --- the auto-increment bit ---------------------------------------------------------------


def test_multi_byte_read_repeats_one_register_without_the_increment_bit() -> None:
    rig = rig_at()
    rig.driver.configure(interrupt=False)
    plain = Device(rig.bus, rig.chip.address)  # burst_flag 0: SUB b7 clear
    ctrl1 = rig.chip.mem[A("CTRL_REG1")]
    assert plain.read_burst(A("CTRL_REG1"), 4) == bytes([ctrl1]) * 4
    flagged = Device(rig.bus, rig.chip.address, LIS3DH.burst_flag)
    assert LIS3DH.burst_flag == 0x80
    expected = bytes(rig.chip.mem[A("CTRL_REG1") : A("CTRL_REG4") + 1])
    assert flagged.read_burst(A("CTRL_REG1"), 4) == expected


def test_multi_byte_write_needs_the_increment_bit_too() -> None:
    chip = EmulatedLIS3DH(VirtualClock())
    chip.transfer_write(A("CTRL_REG2"), bytes([0x11, 0x22]))
    assert (chip.mem[A("CTRL_REG2")], chip.mem[A("CTRL_REG3")]) == (0x22, 0x00)
    chip.transfer_write(A("CTRL_REG2") | 0x80, bytes([0x11, 0x22]))
    assert (chip.mem[A("CTRL_REG2")], chip.mem[A("CTRL_REG3")]) == (0x11, 0x22)


def test_every_fifo_sample_is_read_from_0xA8(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = rig_at()
    seen = spy_register_bytes(rig, monkeypatch)
    rig.driver.configure(interrupt=False)
    rig.clock.sleep(0.2)
    read = rig.driver.read_fifo()
    assert len(read) == 32
    assert set(seen) == {0xA8}
    assert len(seen) == len(read)  # one transaction (write SUB + read 6) per sample


# --- data format --------------------------------------------------------------------------


@pytest.mark.parametrize(("range_g", "mg_per_digit"), [(2, 1.0), (4, 2.0), (8, 4.0), (16, 12.0)])
def test_high_resolution_words_are_left_justified_little_endian(range_g: int,
                                                                 mg_per_digit: float) -> None:
    acc = (0.5, -0.25, 1.0)
    rig = rig_at(range_g=range_g, source=constant(*acc))
    rig.driver.configure(interrupt=False)
    assert rig.driver.lsb_g == mg_per_digit / 1000.0
    rig.clock.sleep(0.05)
    raw = Device(rig.bus, rig.chip.address, 0x80).read_burst(A("OUT_X_L"), 6)
    words = np.frombuffer(raw, dtype="<i2")
    digits = np.round(np.array(acc) * 1000.0 / mg_per_digit).astype(int)
    assert list(words) == list(digits << 4)  # 12 bits, the low 4 always zero
    assert raw[0] & 0x0F == 0 and raw[2] & 0x0F == 0
    # The driver undoes the justification and the scale.
    read = rig.driver.read_fifo()
    assert np.allclose(read.acc_g, acc, atol=rig.driver.lsb_g / 2 + 1e-12)


def test_one_g_at_2g_is_0x3E80_in_the_output_registers() -> None:
    rig = rig_at(source=constant(0.0, 0.0, 1.0))
    rig.driver.configure(interrupt=False)
    rig.clock.sleep(0.05)
    raw = Device(rig.bus, rig.chip.address, 0x80).read_burst(A("OUT_X_L"), 6)
    assert raw[4:6] == bytes([0x80, 0x3E])  # 1000 digits << 4 = 16000, low byte first


# --- the FIFO level ----------------------------------------------------------------------------


def test_a_full_fifo_reads_fss_31_with_overrun_and_the_driver_takes_all_32() -> None:
    rig = rig_at()
    rig.driver.configure(interrupt=False)
    rig.clock.sleep(1.0)  # 200 samples into 32 slots
    src = rig.driver.device.read(A("FIFO_SRC_REG"))
    assert REGS.get("FIFO_SRC_REG", src, "FSS") == 31
    assert REGS.flag("FIFO_SRC_REG", src, "OVRN_FIFO")
    assert REGS.flag("FIFO_SRC_REG", src, "WTM")
    assert not REGS.flag("FIFO_SRC_REG", src, "EMPTY")
    read = rig.driver.read_fifo()
    assert len(read) == 32 and read.overrun
    src = rig.driver.device.read(A("FIFO_SRC_REG"))
    assert src == REGS.compose("FIFO_SRC_REG", EMPTY=1)


def test_fss_counts_below_full_and_wtm_follows_fth() -> None:
    rig = rig_at()
    rig.driver.configure(interrupt=False)
    fth = rig.driver.watermark
    assert fth == 16
    for n in (5, fth - 1, fth, 31):
        rig.driver.read_fifo()
        rig.clock.sleep(n / 200.0 + 1e-6)
        src = rig.driver.device.read(A("FIFO_SRC_REG"))
        assert REGS.get("FIFO_SRC_REG", src, "FSS") == n
        assert REGS.flag("FIFO_SRC_REG", src, "WTM") == (n >= fth)
        assert not REGS.flag("FIFO_SRC_REG", src, "OVRN_FIFO")
        read = rig.driver.read_fifo()
        assert len(read) == n and not read.overrun


def test_multi_sample_burst_wraps_to_out_x_l_in_the_emulator() -> None:
    """Klipper's 8-samples-in-48-bytes read [1]: modelled, though the driver avoids it."""
    def counting(first: int, n: int) -> np.ndarray:
        idx = np.arange(first, first + n, dtype=np.float64)
        return np.stack([idx / 1000.0, -idx / 1000.0, np.full(n, 1.0)], axis=1)

    rig = rig_at(source=counting)
    rig.driver.configure(interrupt=False)
    rig.clock.sleep(10 / 200.0 + 1e-6)
    raw = Device(rig.bus, rig.chip.address, 0x80).read_burst(A("OUT_X_L"), 48)
    words = (np.frombuffer(raw, dtype="<i2").reshape(-1, 3) >> 4).astype(int)
    assert list(words[:, 0]) == list(range(8))
    assert rig.chip.fifo_count == 2


def test_bypass_empties_the_fifo_and_shows_the_newest_sample() -> None:
    rig = rig_at(source=constant(0.1, 0.2, 0.3))
    rig.driver.configure(interrupt=False)
    rig.clock.sleep(0.1)
    rig.driver.device.write(A("FIFO_CTRL_REG"), REGS.compose("FIFO_CTRL_REG", FM="bypass"))
    assert rig.chip.fifo_count == 0
    rig.clock.sleep(0.1)
    assert rig.driver.device.read(A("FIFO_SRC_REG")) == REGS.compose("FIFO_SRC_REG", EMPTY=1)
    raw = Device(rig.bus, rig.chip.address, 0x80).read_burst(A("OUT_X_L"), 6)
    assert list(np.frombuffer(raw, dtype="<i2") >> 4) == [100, 200, 300]


# --- configuration and interrupts ---------------------------------------------------------


def test_configure_writes_the_first_light_values_over_whatever_was_there() -> None:
    rig = rig_at(rate_hz=100.0)
    scribble = {"CTRL_REG2": 0xFF, "CTRL_REG6": 0x02, "TEMP_CFG_REG": 0xC0, "CTRL_REG0": 0x90}
    for name, value in scribble.items():
        rig.driver.device.write(A(name), value)
    rig.driver.configure(interrupt=True)
    mem = rig.chip.mem
    # sensors.md §7: 100 Hz XYZ; BDU, HR, ±2 g; FIFO_EN; stream + FTH; I1_WTM.
    assert mem[A("CTRL_REG1")] == 0x57
    assert mem[A("CTRL_REG4")] == 0x88
    assert mem[A("CTRL_REG5")] == 0x40
    assert mem[A("FIFO_CTRL_REG")] == 0x80 | 16
    assert mem[A("CTRL_REG3")] == 0x04
    assert (mem[A("CTRL_REG2")], mem[A("CTRL_REG6")], mem[A("TEMP_CFG_REG")]) == (0, 0, 0)
    assert mem[A("CTRL_REG0")] == 0x10
    assert rig.chip.measuring and rig.driver.is_configured()


def test_lost_configuration_is_seen() -> None:
    rig = rig_at()
    rig.driver.configure(interrupt=False)
    assert rig.driver.is_configured()
    rig.driver.device.write(A("CTRL_REG4"), 0x08)  # BDU dropped
    assert not rig.driver.is_configured()
    rig.driver.configure(interrupt=False)
    rig.chip.power_on_reset()
    assert not rig.driver.is_configured()


def test_watermark_drives_int1_with_the_polarity_bit() -> None:
    factory = MockFactory()
    rig = rig_at(int_pin=17, pin_factory=factory)
    pin = factory.pin(17)
    rig.driver.configure(interrupt=True)
    rig.clock.sleep(15 / 200.0 + 1e-6)
    assert pin.state == 0
    rig.clock.sleep(1 / 200.0)
    assert pin.state == 1  # 16 samples = FTH
    rig.driver.device.write(A("CTRL_REG6"), REGS.compose("CTRL_REG6", INT_POLARITY="low"))
    assert pin.state == 0
    rig.driver.read_fifo()
    assert pin.state == 1  # drained: inactive, and active low means the line is high


def test_changing_rate_while_measuring_keeps_the_sample_count_true() -> None:
    rig = rig_at(rate_hz=100.0)
    rig.driver.configure(interrupt=False)
    rig.clock.sleep(0.1)
    assert len(rig.driver.read_fifo()) == 10
    rig.driver.device.write(A("CTRL_REG1"), REGS.compose("CTRL_REG1", ODR=400.0, XEN=1,
                                                          YEN=1, ZEN=1))
    rig.clock.sleep(0.05)
    assert len(rig.driver.read_fifo()) == 20


# --- self-test ----------------------------------------------------------------------------------


def test_self_test_uses_normal_mode_2g_50hz_and_st_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = rig_at()
    writes: list[tuple[int, int]] = []
    real = rig.driver.device.write
    monkeypatch.setattr(rig.driver.device, "write",
                        lambda reg, value: (writes.append((reg, value)), real(reg, value))[1])
    result = rig.driver.self_test()
    reg4 = [v for r, v in writes if r == A("CTRL_REG4")]
    assert REGS.compose("CTRL_REG4", BDU=1, FS=2, ST="positive") in reg4  # HR = 0: 10-bit
    assert reg4[-1] == REGS.compose("CTRL_REG4", BDU=1, FS=2)  # self-test off afterwards
    assert REGS.compose("CTRL_REG1", ODR=50.0, XEN=1, YEN=1, ZEN=1) in [
        v for r, v in writes if r == A("CTRL_REG1")]
    assert result.passed
    # 10-bit at 4 mg/digit: the deflection is what the emulator adds, to a digit.
    assert np.allclose(result.deflection_g, rig.chip.self_test_g, atol=0.004)
    assert result.limits_g[0] == (0.068, 1.44)
    # The driver is back on its own settings, and the chip needs configure.
    assert (rig.driver.rate_hz, rig.driver.range_g, rig.driver.mode) == (200.0, 2,
                                                                         "high_resolution")
    assert not rig.driver.is_configured()


def test_self_test_judges_the_size_of_the_deflection_not_its_sign() -> None:
    rig = rig_at()
    rig.chip.self_test_g = (-0.3, 0.3, -0.5)  # type: ignore[misc]
    assert rig.driver.self_test().passed
    rig.chip.self_test_g = (0.3, 0.03, 0.5)  # type: ignore[misc]
    result = rig.driver.self_test()
    assert not result.passed and "FAIL" in result.describe()
