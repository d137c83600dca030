"""STMicroelectronics LSM6DSO: a 6-axis IMU, used here as an accelerometer only.

Facts from ``shared/reference/sensors.md`` §5 (and §0, §7): I2C address 0x6A (SA0 low) or
0x6B; WHO_AM_I (0x0F) reads 0x6C, which the LSM6DSOX shares (§5.1) [2]; CTRL3_C.SW_RESET
clears itself when the reset is done [2]; ST's examples set CTRL9_XL.I3C_DISABLE on I2C [1];
ODR_XL codes 12.5…833 Hz (§5.3) [2]; FS_XL codes in the datasheet's odd order (§5.3) [2];
the gyroscope stays off (CTRL2_G = 0, its reset value). The FIFO (§5.4) [2]: the accelerometer
enters it only when FIFO_CTRL3.BDR_XL ≠ 0, whatever FIFO_MODE says; continuous mode is 110;
the watermark WTM is 9 bits of *words* (FIFO_CTRL1 + FIFO_CTRL2 b0); FIFO_STATUS1/2 give the
unread words (DIFF_FIFO, 10 bits) and the flags; every word is 7 bytes — a tag byte
(TAG_SENSOR = byte >> 3: 0x02 accelerometer, 0x04 timestamp, 0x05 configuration change …)
and 6 data bytes, X/Y/Z little-endian int16 — and one burst of n × 7 bytes from 0x78 returns
n successive words, as the Linux driver reads them [1 kernel]. Depth 512 words. Only words
tagged as accelerometer are kept: the FIFO may hold timestamp and configuration-change words
even in an accelerometer-only setup (§5.9).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from hypnic.drivers.chip import ChipSpec, FifoRead
from hypnic.drivers.chips.lsm6ds_common import (
    RANGE_CODES,
    SELF_TEST_MODES,
    LSM6DSDriver,
)
from hypnic.drivers.registers import Field, Register, RegisterMap

#: CTRL1_XL.ODR_XL, in Hz (0.0 = power-down; 1.6 Hz exists in low-power mode only) [2].
ODR_CODES = MappingProxyType({
    0.0: 0b0000, 12.5: 0b0001, 26.0: 0b0010, 52.0: 0b0011, 104.0: 0b0100, 208.0: 0b0101,
    417.0: 0b0110, 833.0: 0b0111, 1667.0: 0b1000, 3333.0: 0b1001, 6667.0: 0b1010,
    1.6: 0b1011,
})
#: FIFO_CTRL3.BDR_XL, the accelerometer's batch rate in Hz (0.0 = not batched) [2].
BDR_CODES = MappingProxyType({
    0.0: 0b0000, 12.5: 0b0001, 26.0: 0b0010, 52.0: 0b0011, 104.0: 0b0100, 208.0: 0b0101,
    417.0: 0b0110, 833.0: 0b0111, 1667.0: 0b1000, 3333.0: 0b1001, 6667.0: 0b1010,
    6.5: 0b1011,
})
#: FIFO_CTRL4.FIFO_MODE [2].
FIFO_MODES = MappingProxyType({
    "bypass": 0b000, "fifo": 0b001, "continuous_to_fifo": 0b011,
    "bypass_to_continuous": 0b100, "continuous": 0b110, "bypass_to_fifo": 0b111,
})
#: FIFO_DATA_OUT_TAG.TAG_SENSOR: what a FIFO word holds [2: ST enum + kernel]. 0x06-0x08 are
#: compressed accelerometer words, which appear only with compression on (never here).
TAGS = MappingProxyType({
    "gyro": 0x01, "accel": 0x02, "temperature": 0x03, "timestamp": 0x04,
    "config_change": 0x05, "accel_nc_t_2": 0x06, "accel_nc_t_1": 0x07, "accel_2xc": 0x08,
})

#: FIFO_CTRL4.ODR_TS_BATCH: a timestamp word every 1, 8 or 32 batched words [1 ST header].
TS_DECIMATION = MappingProxyType({"off": 0b00, 1: 0b01, 8: 0b10, 32: 0b11})

_INT_BITS = (
    Field("INT_DRDY_XL", 0), Field("INT_DRDY_G", 1), Field("INT_BOOT", 2),
    Field("INT_FIFO_TH", 3), Field("INT_FIFO_OVR", 4), Field("INT_FIFO_FULL", 5),
    Field("INT_CNT_BDR", 6), Field("DEN_DRDY_FLAG", 7),
)
_OUT = ("OUTX_L_A", "OUTX_H_A", "OUTY_L_A", "OUTY_H_A", "OUTZ_L_A", "OUTZ_H_A")
_FIFO_OUT = ("FIFO_DATA_OUT_X_L", "FIFO_DATA_OUT_X_H", "FIFO_DATA_OUT_Y_L",
             "FIFO_DATA_OUT_Y_H", "FIFO_DATA_OUT_Z_L", "FIFO_DATA_OUT_Z_H")

REGS = RegisterMap(
    "LSM6DSO",
    [
        Register("FIFO_CTRL1", 0x07, fields=(Field("WTM", 0, 8),)),
        Register(
            "FIFO_CTRL2", 0x08,
            fields=(Field("WTM8", 0), Field("UNCOPTR_RATE", 1, 2), Field("ODR_CHG_EN", 4),
                    Field("FIFO_COMPR_RT_EN", 6), Field("STOP_ON_WTM", 7)),
        ),
        Register(
            "FIFO_CTRL3", 0x09,
            fields=(Field("BDR_XL", 0, 4, BDR_CODES), Field("BDR_GY", 4, 4)),
        ),
        Register(
            "FIFO_CTRL4", 0x0A,
            fields=(Field("FIFO_MODE", 0, 3, FIFO_MODES), Field("ODR_T_BATCH", 4, 2),
                    Field("ODR_TS_BATCH", 6, 2, TS_DECIMATION)),
        ),
        Register("COUNTER_BDR_REG1", 0x0B, fields=(Field("DATAREADY_PULSED", 7),)),
        Register("INT1_CTRL", 0x0D, fields=_INT_BITS),
        Register("INT2_CTRL", 0x0E),
        Register("WHO_AM_I", 0x0F, reset=0x6C, writable=False),
        Register(
            "CTRL1_XL", 0x10,
            fields=(Field("ODR_XL", 4, 4, ODR_CODES), Field("FS_XL", 2, 2, RANGE_CODES),
                    Field("LPF2_XL_EN", 1)),
        ),
        Register("CTRL2_G", 0x11, fields=(Field("ODR_G", 4, 4), Field("FS_G", 1, 3))),
        Register(
            "CTRL3_C", 0x12, reset=0x04,
            fields=(Field("BOOT", 7), Field("BDU", 6), Field("H_LACTIVE", 5), Field("PP_OD", 4),
                    Field("SIM", 3), Field("IF_INC", 2), Field("SW_RESET", 0)),
        ),
        Register(
            "CTRL4_C", 0x13,
            fields=(Field("INT2_ON_INT1", 5), Field("DRDY_MASK", 3), Field("I2C_DISABLE", 2)),
        ),
        Register(
            "CTRL5_C", 0x14,
            fields=(Field("XL_ULP_EN", 7), Field("ROUNDING", 5, 2), Field("ST_G", 2, 2),
                    Field("ST_XL", 0, 2, SELF_TEST_MODES)),
        ),
        Register("CTRL6_C", 0x15, fields=(Field("XL_HM_MODE", 4),)),
        Register(
            "CTRL9_XL", 0x18, reset=0xE0,
            fields=(Field("DEN_X", 7), Field("DEN_Y", 6), Field("DEN_Z", 5),
                    Field("DEN_XL_G", 4), Field("DEN_XL_EN", 3), Field("DEN_LH", 2),
                    Field("I3C_DISABLE", 1)),
        ),
        Register(
            "STATUS_REG", 0x1E, writable=False,
            fields=(Field("TDA", 2), Field("GDA", 1), Field("XLDA", 0)),
        ),
        *(Register(name, 0x28 + i, writable=False) for i, name in enumerate(_OUT)),
        Register("FIFO_STATUS1", 0x3A, writable=False, fields=(Field("DIFF_FIFO", 0, 8),)),
        Register(
            "FIFO_STATUS2", 0x3B, writable=False,
            fields=(Field("FIFO_WTM_IA", 7), Field("FIFO_OVR_IA", 6), Field("FIFO_FULL_IA", 5),
                    Field("COUNTER_BDR_IA", 4), Field("OVER_RUN_LATCHED", 3),
                    Field("DIFF_FIFO_HI", 0, 2)),
        ),
        Register("TAP_CFG0", 0x56, fields=(Field("INT_CLR_ON_READ", 6), Field("LIR", 0))),
        # ODR deviation of this part, 0.15 % per step, two's complement [1 ST driver]; unused.
        Register("INTERNAL_FREQ_FINE", 0x63, writable=False),
        Register(
            "FIFO_DATA_OUT_TAG", 0x78, writable=False,
            fields=(Field("TAG_SENSOR", 3, 5, TAGS), Field("TAG_CNT", 1, 2),
                    Field("TAG_PARITY", 0)),
        ),
        *(Register(name, 0x79 + i, writable=False) for i, name in enumerate(_FIFO_OUT)),
    ],
)

SPEC = ChipSpec(
    name="LSM6DSO",
    key="lsm6dso",
    addresses=(0x6A, 0x6B),
    id_register=REGS.address("WHO_AM_I"),
    ids=MappingProxyType({0x6C: "LSM6DSO"}),
    rates_hz=(52.0, 104.0, 208.0, 417.0, 833.0),
    ranges_g=(2, 4, 8, 16),
    fifo_capacity=512,  # words; with only the accelerometer batched, one word per sample
    noise_density_ug_rthz=70.0,  # high-performance, ±2 g [?]: datasheet page not retrieved
)

#: |on - off| per axis, 50…1700 mg at any range (§5.6) [2].
SELF_TEST_LIMITS_G = (0.050, 1.700)
#: Bytes of one FIFO word: the tag, then X, Y, Z as little-endian int16.
WORD_BYTES = 7
FIFO_WORDS = 512
_TAG = REGS["FIFO_DATA_OUT_TAG"].field("TAG_SENSOR")
_DIFF_HI = REGS["FIFO_STATUS2"].field("DIFF_FIFO_HI")


class LSM6DSO(LSM6DSDriver):
    spec = SPEC
    regs = REGS
    self_test_limits_g = SELF_TEST_LIMITS_G

    def _interface_setup(self) -> None:
        super()._interface_setup()
        # Keep the DEN bits at their reset values; only turn I3C off (ST examples, §5.1 [1]).
        r = self.regs
        ctrl9 = r.update("CTRL9_XL", r["CTRL9_XL"].reset, I3C_DISABLE=1)
        self.device.write(r.address("CTRL9_XL"), ctrl9)

    def _fifo_ctrl(self, rate_hz: float) -> tuple[int, int, int, int]:
        """FIFO_CTRL1..4: watermark in words (one per accelerometer sample), the
        accelerometer batched at its output rate, continuous mode."""
        r = self.regs
        return (
            r.compose("FIFO_CTRL1", WTM=self.watermark & 0xFF),
            r.compose("FIFO_CTRL2", WTM8=self.watermark >> 8),
            r.compose("FIFO_CTRL3", BDR_XL=rate_hz),
            r.compose("FIFO_CTRL4", FIFO_MODE="continuous"),
        )

    def _setup_fifo(self, rate_hz: float, interrupt: bool) -> None:
        r, w = self.regs, self.device.write
        for name, value in zip(
            ("FIFO_CTRL1", "FIFO_CTRL2", "FIFO_CTRL3", "FIFO_CTRL4"),
            self._fifo_ctrl(rate_hz), strict=True,
        ):
            w(r.address(name), value)
        w(r.address("INT1_CTRL"), r.compose("INT1_CTRL", INT_FIFO_TH=int(interrupt)))

    def _fifo_running(self) -> bool:
        got = self.device.read_burst(self.regs.address("FIFO_CTRL1"), 4)
        return tuple(got) == self._fifo_ctrl(self.rate_hz)

    def read_fifo(self) -> FifoRead:
        r = self.regs
        status = self.device.read_burst(r.address("FIFO_STATUS1"), 2)
        words = min(FIFO_WORDS, status[0] | (_DIFF_HI.raw(status[1]) << 8))
        overrun = r.flag("FIFO_STATUS2", status[1], "FIFO_OVR_IA") or r.flag(
            "FIFO_STATUS2", status[1], "OVER_RUN_LATCHED"
        )
        raw = self.device.read_burst(r.address("FIFO_DATA_OUT_TAG"), words * WORD_BYTES)
        table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, WORD_BYTES)
        # Keep accelerometer words only; anything else (timestamps, configuration changes)
        # would read as a wild acceleration.
        accel = table[(table[:, 0] >> _TAG.shift) == TAGS["accel"], 1:]
        counts = np.ascontiguousarray(accel).view("<i2")
        return FifoRead(acc_g=counts.astype(np.float64) * self.lsb_g, overrun=overrun)
