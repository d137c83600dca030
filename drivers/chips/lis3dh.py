"""STMicroelectronics LIS3DH: a low-power ST accelerometer common on cheap breakouts.

Facts from ``shared/reference/sensors.md`` §2 (with §0 and §7):

- §2.1 addresses 0x18 (SA0 low, the Adafruit default) and 0x19; WHO_AM_I (0x0F) = 0x33 [2],
  a value its siblings (LIS2DH12, LIS3DE, LSM303AGR) share, so the model cannot be told
  apart from them. No soft reset of the user registers (BOOT only reloads the factory
  trim) [1], so configure writes every register it relies on. Power-on values CTRL_REG1 =
  0x07, CTRL_REG0 = 0x10, others 0 [?].
- §2.2 register addresses and bits [2].
- §2.3 ODR codes in CTRL_REG1 b7:4; measuring starts as soon as ODR ≠ 0 and Xen/Yen/Zen must
  stay set [2]. In 50-800 Hz the chip has 50, 100, 200 and 400 Hz (1.344 kHz is above).
- §2.4 high-resolution mode (HR = 1, LPen = 0): 12 bits, left-justified in a little-endian
  int16 (shift right by 4), 1/2/4/12 mg per digit at ±2/4/8/16 g — ±16 g is 3× the ±8 g
  step, not 2× [2].
- §2.5 FIFO: 32 samples; CTRL_REG5.FIFO_EN plus FIFO_CTRL_REG FM = stream, FTH watermark;
  FIFO_SRC_REG holds WTM b7, OVRN_FIFO b6, EMPTY b5, FSS b4:0 [2]. FSS has 5 bits and cannot
  say 32: a full FIFO reads FSS = 31 with OVRN_FIFO set [1 (sibling LIS2DH12)], so the driver
  takes OVRN_FIFO as "32 waiting, and the oldest may have been overwritten". One sample is a
  6-byte burst from OUT_X_L with the auto-increment bit (register byte 0xA8) and pops one
  entry [2]. Klipper reads several samples in one longer burst; that is [1] and untested on
  hardware, so this driver reads one sample per transaction, packed many to an ioctl
  (``Device.read_repeated``).
- §2.6 watermark to INT1 with CTRL_REG3.I1_WTM; CTRL_REG6.INT_POLARITY 0 = active high [2].
- §2.7 self-test [1, ST example code; the datasheet table was not retrieved]: normal 10-bit
  mode, ±2 g, 50 Hz, averages with ST off and ST = 01; |on - off| per axis between 17 and
  360 digits at 4 mg/digit.
- §2.9 I2C auto-increments only when b7 of the register byte is set [2]: ``burst_flag``.
- The datasheet (DocID17530 Rev 2 §5.1, web mirror) sets WTM when FSS ≥ FTH.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from hypnic.drivers.chip import ChipDriver, ChipSpec, FifoRead, SelfTestResult
from hypnic.drivers.registers import Field, Register, RegisterMap

#: b7 of the register byte: "auto-increment the address" on I2C (§2.9).
AUTO_INCREMENT = 0x80

#: CTRL_REG1 ODR codes (§2.3) for normal and high-resolution modes; 0 is power-down.
ODR_CODES = MappingProxyType(
    {"power_down": 0x0, 1.0: 0x1, 10.0: 0x2, 25.0: 0x3, 50.0: 0x4, 100.0: 0x5, 200.0: 0x6,
     400.0: 0x7, 1344.0: 0x9}
)
#: Codes whose rate differs in low-power mode (LPen = 1): 1.620 kHz and 5.376 kHz (§2.3).
LOW_POWER_ODR_HZ = MappingProxyType({0x8: 1620.0, 0x9: 5376.0})
RANGE_CODES = MappingProxyType({2: 0b00, 4: 0b01, 8: 0b10, 16: 0b11})
SELF_TEST_CODES = MappingProxyType({"off": 0b00, "positive": 0b01, "negative": 0b10})
FIFO_MODES = MappingProxyType({"bypass": 0b00, "fifo": 0b01, "stream": 0b10,
                               "stream_to_fifo": 0b11})
INT_POLARITY = MappingProxyType({"high": 0, "low": 1})

#: Output word bits and size of one digit (mg) per mode and range (§2.4). The output is
#: always a left-justified int16, so the right shift is 16 - bits.
MODE_BITS = MappingProxyType({"high_resolution": 12, "normal": 10, "low_power": 8})
DIGIT_MG = MappingProxyType(
    {
        "high_resolution": MappingProxyType({2: 1.0, 4: 2.0, 8: 4.0, 16: 12.0}),
        "normal": MappingProxyType({2: 4.0, 4: 8.0, 8: 16.0, 16: 48.0}),
        "low_power": MappingProxyType({2: 16.0, 4: 32.0, 8: 64.0, 16: 192.0}),
    }
)

REGS = RegisterMap(
    "LIS3DH",
    [
        Register("WHO_AM_I", 0x0F, reset=0x33, writable=False),
        # The other CTRL_REG0 bits must keep the 0x10 pattern [?].
        Register("CTRL_REG0", 0x1E, reset=0x10, fields=(Field("SDO_PU_DISC", 7),)),
        Register("TEMP_CFG_REG", 0x1F, fields=(Field("ADC_EN", 7), Field("TEMP_EN", 6))),
        Register(
            "CTRL_REG1", 0x20, reset=0x07,
            fields=(Field("ODR", 4, 4, ODR_CODES), Field("LPEN", 3), Field("ZEN", 2),
                    Field("YEN", 1), Field("XEN", 0)),
        ),
        Register(
            "CTRL_REG2", 0x21,
            fields=(Field("HPM", 6, 2), Field("HPCF", 4, 2), Field("FDS", 3),
                    Field("HP_CLICK", 2), Field("HP_IA2", 1), Field("HP_IA1", 0)),
        ),
        Register(
            "CTRL_REG3", 0x22,
            fields=(Field("I1_CLICK", 7), Field("I1_IA1", 6), Field("I1_IA2", 5),
                    Field("I1_ZYXDA", 4), Field("I1_321DA", 3), Field("I1_WTM", 2),
                    Field("I1_OVERRUN", 1)),
        ),
        Register(
            "CTRL_REG4", 0x23,
            fields=(Field("BDU", 7), Field("BLE", 6), Field("FS", 4, 2, RANGE_CODES),
                    Field("HR", 3), Field("ST", 1, 2, SELF_TEST_CODES), Field("SIM", 0)),
        ),
        Register(
            "CTRL_REG5", 0x24,
            fields=(Field("BOOT", 7), Field("FIFO_EN", 6), Field("LIR_INT1", 3),
                    Field("D4D_INT1", 2), Field("LIR_INT2", 1), Field("D4D_INT2", 0)),
        ),
        Register(
            "CTRL_REG6", 0x25,
            fields=(Field("INT2_ROUTING", 3, 5), Field("INT_POLARITY", 1, 1, INT_POLARITY)),
        ),
        Register(
            "STATUS_REG", 0x27, writable=False,
            fields=(Field("ZYXOR", 7), Field("ZOR", 6), Field("YOR", 5), Field("XOR", 4),
                    Field("ZYXDA", 3), Field("ZDA", 2), Field("YDA", 1), Field("XDA", 0)),
        ),
        Register("OUT_X_L", 0x28, writable=False),
        Register("OUT_X_H", 0x29, writable=False),
        Register("OUT_Y_L", 0x2A, writable=False),
        Register("OUT_Y_H", 0x2B, writable=False),
        Register("OUT_Z_L", 0x2C, writable=False),
        Register("OUT_Z_H", 0x2D, writable=False),
        Register(
            "FIFO_CTRL_REG", 0x2E,
            fields=(Field("FM", 6, 2, FIFO_MODES), Field("TR", 5), Field("FTH", 0, 5)),
        ),
        Register(
            "FIFO_SRC_REG", 0x2F, writable=False,
            fields=(Field("WTM", 7), Field("OVRN_FIFO", 6), Field("EMPTY", 5),
                    Field("FSS", 0, 5)),
        ),
    ],
)

SPEC = ChipSpec(
    name="LIS3DH",
    key="lis3dh",
    addresses=(0x18, 0x19),
    id_register=REGS.address("WHO_AM_I"),
    ids=MappingProxyType({0x33: "LIS3DH"}),
    rates_hz=(50.0, 100.0, 200.0, 400.0),
    ranges_g=(2, 4, 8, 16),
    fifo_capacity=32,
    # The LIS3DH datasheet gives no noise density [?]; 220 µg/√Hz is the high-resolution
    # figure usually quoted for its sibling LIS2DH12 (general knowledge, unverified).
    noise_density_ug_rthz=220.0,
)

#: One FIFO entry: X, Y, Z as little-endian left-justified int16 (§2.4, §2.5).
ENTRY_BYTES = 6
#: Self-test limits (§2.7 [1]): 17…360 digits at 4 mg/digit, judged on |on - off|.
SELF_TEST_LIMITS_G = ((0.068, 1.44), (0.068, 1.44), (0.068, 1.44))
SELF_TEST_RATE_HZ = 50.0
#: ST's example waits 90 ms after each change and discards a sample; 5 samples at 50 Hz
#: is 100 ms. It averages 5; more costs a fraction of a second and halves the noise.
SELF_TEST_SETTLE = 5
SELF_TEST_AVERAGE = 20


class LIS3DH(ChipDriver):
    spec = SPEC
    regs = REGS
    burst_flag = AUTO_INCREMENT
    #: The output mode the FIFO words are decoded in (a key of MODE_BITS); the self-test
    #: switches to "normal" for a while.
    mode: str = "high_resolution"
    _interrupt: bool = False

    @property
    def lsb_g(self) -> float:
        return DIGIT_MG[self.mode][int(self.range_g)] / 1000.0

    # --- configuration ------------------------------------------------------------------

    def _expected(self) -> dict[str, int]:
        """Every register configure writes, with the value it writes (in write order)."""
        r = self.regs
        return {
            "CTRL_REG0": r["CTRL_REG0"].reset,  # keep the SA0 pull-up; other bits fixed
            "TEMP_CFG_REG": 0x00,
            "CTRL_REG2": 0x00,  # no high-pass filter: hypnic wants the raw signal
            "CTRL_REG3": r.compose("CTRL_REG3", I1_WTM=1) if self._interrupt else 0x00,
            "CTRL_REG4": self._ctrl_reg4(self.mode, self.range_g, "off"),
            "CTRL_REG5": r.compose("CTRL_REG5", FIFO_EN=1),
            "CTRL_REG6": r.compose("CTRL_REG6", INT_POLARITY="high"),
            "FIFO_CTRL_REG": r.compose("FIFO_CTRL_REG", FM="stream", FTH=self.watermark),
            "CTRL_REG1": self._ctrl_reg1(self.rate_hz, self.mode),
        }

    def _ctrl_reg1(self, rate: float | str, mode: str) -> int:
        return self.regs.compose(
            "CTRL_REG1", ODR=rate, LPEN=int(mode == "low_power"), XEN=1, YEN=1, ZEN=1
        )

    def _ctrl_reg4(self, mode: str, range_g: float, self_test: str) -> int:
        # BDU: the two bytes of an axis always come from one sample (§7's first light).
        return self.regs.compose(
            "CTRL_REG4", BDU=1, FS=int(range_g), HR=int(mode == "high_resolution"),
            ST=self_test,
        )

    def _write_all(self, values: dict[str, int]) -> None:
        r, w = self.regs, self.device.write
        # Power down and silence INT1 first, so nothing samples or fires half-configured.
        w(r.address("CTRL_REG1"), self._ctrl_reg1("power_down", self.mode))
        w(r.address("CTRL_REG3"), 0x00)
        for name, value in values.items():
            if name == "FIFO_CTRL_REG":
                # Bypass empties the FIFO (the only way to reset it), then stream.
                w(r.address(name), r.compose(name, FM="bypass"))
            if name == "CTRL_REG3":
                continue  # routed last, once the FIFO is set up
            w(r.address(name), value)
        if values["CTRL_REG3"]:
            w(r.address("CTRL_REG3"), values["CTRL_REG3"])

    def configure(self, interrupt: bool) -> None:
        self._interrupt = interrupt
        self.mode = "high_resolution"
        self._write_all(self._expected())

    def is_configured(self) -> bool:
        r = self.regs
        expected = self._expected()
        # CTRL_REG1..CTRL_REG6 in one auto-increment burst, then the FIFO control.
        first = r.address("CTRL_REG1")
        ctrl = self.device.read_burst(first, 6)
        for offset, value in enumerate(ctrl):
            reg = r.at(first + offset)
            if reg is not None and value != expected[reg.name]:
                return False
        return self.device.read(r.address("FIFO_CTRL_REG")) == expected["FIFO_CTRL_REG"]

    # --- reading ------------------------------------------------------------------------

    def read_fifo(self) -> FifoRead:
        r = self.regs
        src = self.device.read(r.address("FIFO_SRC_REG"))
        overrun = r.flag("FIFO_SRC_REG", src, "OVRN_FIFO")
        if overrun:
            entries = self.spec.fifo_capacity  # FSS reads 31 when all 32 are full
        elif r.flag("FIFO_SRC_REG", src, "EMPTY"):
            entries = 0
        else:
            entries = int(r.get("FIFO_SRC_REG", src, "FSS"))
        raw = self.device.read_repeated(r.address("OUT_X_L"), ENTRY_BYTES, entries)
        words = np.frombuffer(raw, dtype="<i2").reshape(-1, 3)
        # Left-justified: an arithmetic shift drops the unused low bits and keeps the sign.
        counts = np.right_shift(words, 16 - MODE_BITS[self.mode])
        return FifoRead(acc_g=counts.astype(np.float64) * self.lsb_g, overrun=overrun)

    # --- self-test ----------------------------------------------------------------------

    def self_test(self) -> SelfTestResult:
        r, w = self.regs, self.device.write
        saved = (self.rate_hz, self.range_g, self.mode)
        self.rate_hz, self.range_g, self.mode = SELF_TEST_RATE_HZ, 2, "normal"
        values = self._expected()
        values["CTRL_REG3"] = 0x00  # the self-test polls; INT1 stays quiet
        try:
            self._write_all(values)
            off = self.average_g(SELF_TEST_AVERAGE, SELF_TEST_SETTLE)
            w(r.address("CTRL_REG4"), self._ctrl_reg4("normal", 2, "positive"))
            on = self.average_g(SELF_TEST_AVERAGE, SELF_TEST_SETTLE)
        finally:
            w(r.address("CTRL_REG4"), self._ctrl_reg4("normal", 2, "off"))
            self.rate_hz, self.range_g, self.mode = saved
        d = np.abs(on - off)
        return SelfTestResult(
            self.model, (float(d[0]), float(d[1]), float(d[2])), SELF_TEST_LIMITS_G,
            notes=("judged on |on - off| per axis, as ST's example does",),
        )
