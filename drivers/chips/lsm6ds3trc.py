"""STMicroelectronics LSM6DS3TR-C: a 6-axis IMU, used here as an accelerometer only.

Facts from ``shared/reference/sensors.md`` §6 (and §0, §7); the datasheet itself was not
retrieved, so most register details rest on ST's own header [1]. I2C address 0x6A (SA0 low)
or 0x6B [2]. WHO_AM_I (0x0F) reads 0x6A [2] — the same value as the LSM6DSL and LSM6DSM,
so one of those answers as this chip too (the Linux driver treats them as one family; their
accelerometer and FIFO registers used here match). CTRL3_C.SW_RESET clears itself [1];
ODR_XL codes 12.5…833 Hz with 416 Hz where the LSM6DSO says 417 [1]; FS_XL codes in the
datasheet's odd order with the same mg per step as the LSM6DSO [2]. The FIFO (§6.4): the
accelerometer enters it only when FIFO_CTRL5.ODR_FIFO ≠ 0 *and* FIFO_CTRL3.DEC_FIFO_XL = 001
[1]; continuous mode is 110 [1]; the FIFO holds untagged 16-bit words in a fixed pattern —
with only the accelerometer in it, X, Y, Z per sample [2] — and FIFO_STATUS3/4.FIFO_PATTERN
says which of them comes next [2]; FIFO_STATUS1/2.DIFF_FIFO counts unread words (11 bits) and
the threshold FTH is 11 bits of words [1]; bursts from FIFO_DATA_OUT_L (0x3E) return
successive FIFO bytes [1 kernel]; depth 2048 words, 682 whole samples [2]. The driver reads
whole samples only, and after an overrun (which overwrites word by word, so the oldest sample
can lose its first words) it realigns on FIFO_PATTERN rather than guessing.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from hypnic.drivers.chip import ChipFault, ChipSpec, FifoRead
from hypnic.drivers.chips.lsm6ds_common import (
    RANGE_CODES,
    SELF_TEST_MODES,
    LSM6DSDriver,
)
from hypnic.drivers.registers import Field, Register, RegisterMap

#: CTRL1_XL.ODR_XL in Hz (0.0 = power-down; 1.6 Hz in low-power mode only) [1 ST header].
ODR_CODES = MappingProxyType({
    0.0: 0b0000, 12.5: 0b0001, 26.0: 0b0010, 52.0: 0b0011, 104.0: 0b0100, 208.0: 0b0101,
    416.0: 0b0110, 833.0: 0b0111, 1660.0: 0b1000, 3330.0: 0b1001, 6660.0: 0b1010,
    1.6: 0b1011,
})
#: FIFO_CTRL5.ODR_FIFO: the rate words enter the FIFO, in Hz (0.0 = FIFO off) [1].
FIFO_ODR_CODES = MappingProxyType({
    0.0: 0b0000, 12.5: 0b0001, 26.0: 0b0010, 52.0: 0b0011, 104.0: 0b0100, 208.0: 0b0101,
    416.0: 0b0110, 833.0: 0b0111, 1660.0: 0b1000, 3330.0: 0b1001, 6660.0: 0b1010,
})
#: FIFO_CTRL5.FIFO_MODE [1].
FIFO_MODES = MappingProxyType({
    "bypass": 0b000, "fifo": 0b001, "continuous_to_fifo": 0b011,
    "bypass_to_continuous": 0b100, "continuous": 0b110,
})
#: FIFO_CTRL3.DEC_FIFO_XL: the accelerometer's decimation in the FIFO ("off" = not in it) [1].
DECIMATION = MappingProxyType({"off": 0, 1: 1, 2: 2, 3: 3, 4: 4, 8: 5, 16: 6, 32: 7})

_INT1_BITS = (
    Field("INT1_DRDY_XL", 0), Field("INT1_DRDY_G", 1), Field("INT1_BOOT", 2),
    Field("INT1_FTH", 3), Field("INT1_FIFO_OVR", 4), Field("INT1_FULL_FLAG", 5),
    Field("INT1_SIGN_MOT", 6), Field("INT1_STEP_DETECTOR", 7),
)
_OUT = ("OUTX_L_XL", "OUTX_H_XL", "OUTY_L_XL", "OUTY_H_XL", "OUTZ_L_XL", "OUTZ_H_XL")

REGS = RegisterMap(
    "LSM6DS3TR-C",
    [
        Register("FIFO_CTRL1", 0x06, fields=(Field("FTH", 0, 8),)),
        Register(
            "FIFO_CTRL2", 0x07,
            fields=(Field("FTH_HI", 0, 3), Field("FIFO_TEMP_EN", 3),
                    Field("TIMER_PEDO_FIFO_DRDY", 6), Field("TIMER_PEDO_FIFO_EN", 7)),
        ),
        Register(
            "FIFO_CTRL3", 0x08,
            fields=(Field("DEC_FIFO_XL", 0, 3, DECIMATION), Field("DEC_FIFO_GYRO", 3, 3)),
        ),
        Register(
            "FIFO_CTRL4", 0x09,
            fields=(Field("STOP_ON_FTH", 7), Field("ONLY_HIGH_DATA", 6),
                    Field("DEC_DS4_FIFO", 3, 3), Field("DEC_DS3_FIFO", 0, 3)),
        ),
        Register(
            "FIFO_CTRL5", 0x0A,
            fields=(Field("ODR_FIFO", 3, 4, FIFO_ODR_CODES), Field("FIFO_MODE", 0, 3, FIFO_MODES)),
        ),
        Register("DRDY_PULSE_CFG_G", 0x0B, fields=(Field("DRDY_PULSED", 7),)),
        Register("INT1_CTRL", 0x0D, fields=_INT1_BITS),
        Register("INT2_CTRL", 0x0E),
        Register("WHO_AM_I", 0x0F, reset=0x6A, writable=False),
        Register(
            "CTRL1_XL", 0x10,
            fields=(Field("ODR_XL", 4, 4, ODR_CODES), Field("FS_XL", 2, 2, RANGE_CODES),
                    Field("LPF1_BW_SEL", 1), Field("BW0_XL", 0)),
        ),
        Register("CTRL2_G", 0x11, fields=(Field("ODR_G", 4, 4), Field("FS_G", 1, 3))),
        Register(
            "CTRL3_C", 0x12, reset=0x04,
            fields=(Field("BOOT", 7), Field("BDU", 6), Field("H_LACTIVE", 5), Field("PP_OD", 4),
                    Field("SIM", 3), Field("IF_INC", 2), Field("BLE", 1), Field("SW_RESET", 0)),
        ),
        Register("CTRL4_C", 0x13, fields=(Field("INT2_ON_INT1", 5), Field("I2C_DISABLE", 2))),
        Register(
            "CTRL5_C", 0x14,
            fields=(Field("ROUNDING", 5, 3), Field("DEN_LH", 4), Field("ST_G", 2, 2),
                    Field("ST_XL", 0, 2, SELF_TEST_MODES)),
        ),
        Register("CTRL6_C", 0x15, fields=(Field("XL_HM_MODE", 4),)),
        Register(
            "CTRL9_XL", 0x18, reset=0xE0,
            fields=(Field("DEN_X", 7), Field("DEN_Y", 6), Field("DEN_Z", 5),
                    Field("DEN_XL_EN", 4), Field("SOFT_EN", 2)),
        ),
        Register(
            "STATUS_REG", 0x1E, writable=False,
            fields=(Field("TDA", 2), Field("GDA", 1), Field("XLDA", 0)),
        ),
        *(Register(name, 0x28 + i, writable=False) for i, name in enumerate(_OUT)),
        Register("FIFO_STATUS1", 0x3A, writable=False, fields=(Field("DIFF_FIFO", 0, 8),)),
        Register(
            "FIFO_STATUS2", 0x3B, writable=False,
            fields=(Field("WATERM", 7), Field("OVER_RUN", 6), Field("FIFO_FULL_SMART", 5),
                    Field("FIFO_EMPTY", 4), Field("DIFF_FIFO_HI", 0, 3)),
        ),
        Register("FIFO_STATUS3", 0x3C, writable=False, fields=(Field("FIFO_PATTERN", 0, 8),)),
        Register(
            "FIFO_STATUS4", 0x3D, writable=False, fields=(Field("FIFO_PATTERN_HI", 0, 2),)
        ),
        Register("FIFO_DATA_OUT_L", 0x3E, writable=False),
        Register("FIFO_DATA_OUT_H", 0x3F, writable=False),
    ],
)

SPEC = ChipSpec(
    name="LSM6DS3TR-C",
    key="lsm6ds3trc",
    addresses=(0x6A, 0x6B),
    id_register=REGS.address("WHO_AM_I"),
    ids=MappingProxyType({0x6A: "LSM6DS3TR-C"}),
    rates_hz=(52.0, 104.0, 208.0, 416.0, 833.0),
    ranges_g=(2, 4, 8, 16),
    fifo_capacity=682,  # whole X/Y/Z samples in 2048 words
    noise_density_ug_rthz=90.0,  # high-performance, ±2 g [?]: datasheet not retrieved
)

#: |on - off| per axis, 90…1700 mg (§6.6) [1 ST example].
SELF_TEST_LIMITS_G = (0.090, 1.700)
#: FIFO words (16 bits each) per accelerometer sample: X, Y, Z in that order.
WORDS_PER_SAMPLE = 3
WORD_BYTES = 2
FIFO_WORDS = 2048
_DIFF_HI = REGS["FIFO_STATUS2"].field("DIFF_FIFO_HI")
_PATTERN_HI = REGS["FIFO_STATUS4"].field("FIFO_PATTERN_HI")


class LSM6DS3TRC(LSM6DSDriver):
    spec = SPEC
    regs = REGS
    self_test_limits_g = SELF_TEST_LIMITS_G

    def _fifo_ctrl(self, rate_hz: float) -> tuple[int, int, int, int, int]:
        """FIFO_CTRL1..5: threshold in words (three per sample), the accelerometer in the
        FIFO undecimated, nothing else in it, words entering at the output rate, continuous."""
        r = self.regs
        fth = self.watermark * WORDS_PER_SAMPLE
        return (
            r.compose("FIFO_CTRL1", FTH=fth & 0xFF),
            r.compose("FIFO_CTRL2", FTH_HI=fth >> 8),
            r.compose("FIFO_CTRL3", DEC_FIFO_XL=1),
            r.compose("FIFO_CTRL4"),  # no third/fourth data sets, no stop at the threshold
            r.compose("FIFO_CTRL5", ODR_FIFO=rate_hz, FIFO_MODE="continuous"),
        )

    def _setup_fifo(self, rate_hz: float, interrupt: bool) -> None:
        r, w = self.regs, self.device.write
        for name, value in zip(
            ("FIFO_CTRL1", "FIFO_CTRL2", "FIFO_CTRL3", "FIFO_CTRL4", "FIFO_CTRL5"),
            self._fifo_ctrl(rate_hz), strict=True,
        ):
            w(r.address(name), value)
        w(r.address("INT1_CTRL"), r.compose("INT1_CTRL", INT1_FTH=int(interrupt)))

    def _fifo_running(self) -> bool:
        got = self.device.read_burst(self.regs.address("FIFO_CTRL1"), 5)
        return tuple(got) == self._fifo_ctrl(self.rate_hz)

    def read_fifo(self) -> FifoRead:
        r = self.regs
        status = self.device.read_burst(r.address("FIFO_STATUS1"), 4)
        words = status[0] | (_DIFF_HI.raw(status[1]) << 8)
        if words == 0 and not r.flag("FIFO_STATUS2", status[1], "FIFO_EMPTY"):
            # 2048 unread words do not fit DIFF_FIFO's 11 bits; FIFO_EMPTY tells a full FIFO
            # from an empty one [?: behaviour at exactly full not documented in our sources].
            words = FIFO_WORDS
        overrun = r.flag("FIFO_STATUS2", status[1], "OVER_RUN")
        pattern = status[2] | (_PATTERN_HI.raw(status[3]) << 8)
        if pattern >= WORDS_PER_SAMPLE:
            # Only the accelerometer was put in the FIFO: a pattern beyond Z means someone
            # else's configuration (gyro, temperature). Reconfigure rather than guess.
            raise ChipFault(f"{self.model}: FIFO pattern position {pattern} (expected 0-2)")
        # Words before the next X belong to a sample whose X was overwritten: drop them.
        skip = (WORDS_PER_SAMPLE - pattern) % WORDS_PER_SAMPLE
        samples = max(0, words - skip) // WORDS_PER_SAMPLE
        if samples == 0:
            return FifoRead(acc_g=np.zeros((0, 3)), overrun=overrun)
        length = (skip + samples * WORDS_PER_SAMPLE) * WORD_BYTES
        raw = self.device.read_burst(r.address("FIFO_DATA_OUT_L"), length)
        counts = np.frombuffer(raw, dtype="<i2")[skip:].reshape(-1, WORDS_PER_SAMPLE)
        return FifoRead(acc_g=counts.astype(np.float64) * self.lsb_g, overrun=overrun)
