"""What the two ST iNEMO parts (LSM6DSO, LSM6DS3TR-C) share: tables and driver steps.

Facts from ``shared/reference/sensors.md`` §5.1-5.3, §5.6, §6.1-6.3, §6.6 and §7: both reset
with CTRL3_C.SW_RESET (b0), which clears itself when the reset is done; both want BDU and
IF_INC set in CTRL3_C; CTRL1_XL holds the output rate (ODR_XL, b7:4; 0000 = power-down) and
the range (FS_XL, b3:2) whose codes are *not* in order (00 ±2 g, 01 ±16 g, 10 ±4 g,
11 ±8 g) with 0.061 / 0.488 / 0.122 / 0.244 mg per step; data are little-endian int16; the
interrupt lines are active high while CTRL3_C.H_LACTIVE = 0; the accelerometer self-test is
CTRL5_C.ST_XL = 01 (positive) at ±4 g and 52 Hz, five samples averaged before and after.

Each chip module declares its own full register map (the FIFO registers differ); this module
holds only value tables and the driver steps that are the same on both.
"""

from __future__ import annotations

from abc import abstractmethod
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from hypnic.drivers.chip import ChipDriver, ChipFault, SelfTestResult

#: FS_XL codes [2]. The order is the datasheet's, not the ranges': 01 is ±16 g.
RANGE_CODES = MappingProxyType({2: 0b00, 16: 0b01, 4: 0b10, 8: 0b11})
#: Sensitivity per range from the datasheet table (mg per step) [2]. It is not range×2/65536:
#: ST specifies 0.061 mg at ±2 g (65536 × 0.061 mg = 4.0 g), and so on for each range.
MG_PER_LSB = MappingProxyType({2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488})
#: CTRL5_C.ST_XL [2].
SELF_TEST_MODES = MappingProxyType({"off": 0b00, "positive": 0b01, "negative": 0b10})

#: The self-test conditions of ST's procedure (§5.6, §6.6).
SELF_TEST_RATE_HZ = 52.0
SELF_TEST_RANGE_G = 4
SELF_TEST_SAMPLES = 5
#: ST waits 100 ms after each change and throws the first sample away.
SELF_TEST_SETTLE_S = 0.1
SELF_TEST_DISCARD = 1

#: FIFO samples per read. The framework's default, half the FIFO, would be 256 (LSM6DSO) or 341
#: (LSM6DS3TR-C) samples: 1.2-1.6 s of data per read at 208 Hz, so every block would arrive
#: over a second late and be over a second long. 64 samples is 0.3 s at 208 Hz, and a read
#: that comes late still has 448 (2.2 s) or 618 (3 s) samples of room before anything is lost.
WATERMARK_SAMPLES = 64

#: SW_RESET is polled this often, for at most this long (the reset takes tens of µs [?]).
RESET_POLL_S = 0.001
RESET_TIMEOUT_S = 0.05


class LSM6DSDriver(ChipDriver):
    """Reset, interface setup, rate and range, and the self-test of an LSM6DS-family part.

    Subclasses set up and read their own FIFO (``_setup_fifo``, ``_fifo_running``,
    ``read_fifo``) and may add interface settings (``_interface_setup``)."""

    #: Allowed |on - off| per axis during the self-test, in g.
    self_test_limits_g: ClassVar[tuple[float, float]]

    @property
    def lsb_g(self) -> float:
        return MG_PER_LSB[self.range_g] / 1000.0

    @property
    def watermark(self) -> int:
        return min(WATERMARK_SAMPLES, self.spec.fifo_capacity // 2)

    # --- configuration --------------------------------------------------------------------

    def configure(self, interrupt: bool) -> None:
        self._reset()
        self._interface_setup()
        self._setup_fifo(self.rate_hz, interrupt)
        # Last: a non-zero ODR_XL starts the accelerometer, with the FIFO already waiting.
        self.device.write(self.regs.address("CTRL1_XL"), self._ctrl1_xl())

    def _reset(self) -> None:
        """Software reset, then wait for SW_RESET to clear on its own."""
        r = self.regs
        ctrl3 = r.address("CTRL3_C")
        self.device.write(ctrl3, r.compose("CTRL3_C", SW_RESET=1))
        deadline = self.clock.monotonic() + RESET_TIMEOUT_S
        while r.flag("CTRL3_C", self.device.read(ctrl3), "SW_RESET"):
            if self.clock.monotonic() >= deadline:
                raise ChipFault(f"{self.model}: SW_RESET did not clear")
            self.clock.sleep(RESET_POLL_S)

    def _interface_setup(self) -> None:
        """BDU (an output word is never half old, half new) and IF_INC (bursts step through
        registers, and through FIFO words); H_LACTIVE = 0 keeps INT1 active high, push-pull."""
        r = self.regs
        self.device.write(r.address("CTRL3_C"), self._ctrl3_c())

    def _ctrl3_c(self) -> int:
        return self.regs.compose("CTRL3_C", BDU=1, IF_INC=1, H_LACTIVE=0, PP_OD=0)

    def _ctrl1_xl(self, rate_hz: float | None = None, range_g: int | None = None) -> int:
        return self.regs.compose(
            "CTRL1_XL",
            ODR_XL=self.rate_hz if rate_hz is None else rate_hz,
            FS_XL=self.range_g if range_g is None else range_g,
        )

    @abstractmethod
    def _setup_fifo(self, rate_hz: float, interrupt: bool) -> None:
        """Batch the accelerometer at ``rate_hz`` in continuous mode with ``watermark``, and
        route the watermark to INT1 when ``interrupt`` (else nothing on INT1)."""

    @abstractmethod
    def _fifo_running(self) -> bool:
        """Whether the FIFO registers still hold what ``_setup_fifo`` wrote."""

    def is_configured(self) -> bool:
        r = self.regs
        return (
            self.device.read(r.address("CTRL1_XL")) == self._ctrl1_xl()
            and self.device.read(r.address("CTRL3_C")) == self._ctrl3_c()
            and self._fifo_running()
        )

    # --- self-test --------------------------------------------------------------------------

    def self_test(self) -> SelfTestResult:
        r, w = self.regs, self.device.write
        rate, range_g = self.rate_hz, self.range_g
        # read_fifo and average_g scale and pace by these, so they follow the test setup.
        self.rate_hz, self.range_g = SELF_TEST_RATE_HZ, SELF_TEST_RANGE_G
        try:
            self._reset()
            self._interface_setup()
            self._setup_fifo(SELF_TEST_RATE_HZ, interrupt=False)
            w(r.address("CTRL1_XL"), self._ctrl1_xl())
            self.clock.sleep(SELF_TEST_SETTLE_S)
            off = self.average_g(SELF_TEST_SAMPLES, settle_samples=SELF_TEST_DISCARD)
            w(r.address("CTRL5_C"), r.compose("CTRL5_C", ST_XL="positive"))
            self.clock.sleep(SELF_TEST_SETTLE_S)
            on = self.average_g(SELF_TEST_SAMPLES, settle_samples=SELF_TEST_DISCARD)
        finally:
            self.rate_hz, self.range_g = rate, range_g
        # Leave the chip quiet: self-test off, accelerometer powered down.
        w(r.address("CTRL5_C"), r.compose("CTRL5_C", ST_XL="off"))
        w(r.address("CTRL1_XL"), 0x00)
        # ST's procedure judges |on - off| on each axis against limits that do not depend on
        # the range (§5.6).
        d = np.abs(on - off)
        lo, hi = self.self_test_limits_g
        return SelfTestResult(
            self.model,
            (float(d[0]), float(d[1]), float(d[2])),
            ((lo, hi), (lo, hi), (lo, hi)),
            notes=("±4 g, 52 Hz, positive ST_XL; |on - off| per axis",),
        )
