"""Analog Devices ADXL345: the cheapest and most common breakout.

Facts from the ADXL345 datasheet Rev. E via ``shared/reference/sensors.md`` §1: DEVID 0xE5 at
0x00; full resolution is 3.9 mg/LSB (1/256 g) in every range, right-justified, little-endian;
the FIFO holds 32 samples plus one in the output registers (so up to 33 entries); each 6-byte
burst from DATAX0 pops one entry; overrun and watermark clear as the FIFO drains; there is no
soft reset, so every register is written on configure.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from hypnic.drivers.chip import ChipDriver, ChipSpec, FifoRead, SelfTestResult
from hypnic.drivers.registers import Field, Register, RegisterMap

LSB_G = 1.0 / 256.0  # full resolution: 3.9 mg per step at every range

RATE_CODES = MappingProxyType(
    {12.5: 0x7, 25.0: 0x8, 50.0: 0x9, 100.0: 0xA, 200.0: 0xB, 400.0: 0xC, 800.0: 0xD}
)
RANGE_CODES = MappingProxyType({2: 0b00, 4: 0b01, 8: 0b10, 16: 0b11})
FIFO_MODES = MappingProxyType({"bypass": 0b00, "fifo": 0b01, "stream": 0b10, "trigger": 0b11})

_INT_BITS = (
    Field("DATA_READY", 7),
    Field("SINGLE_TAP", 6),
    Field("DOUBLE_TAP", 5),
    Field("ACTIVITY", 4),
    Field("INACTIVITY", 3),
    Field("FREE_FALL", 2),
    Field("WATERMARK", 1),
    Field("OVERRUN", 0),
)

REGS = RegisterMap(
    "ADXL345",
    [
        Register("DEVID", 0x00, reset=0xE5, writable=False),
        Register("OFSX", 0x1E),
        Register("OFSY", 0x1F),
        Register("OFSZ", 0x20),
        Register(
            "BW_RATE", 0x2C, reset=0x0A,
            fields=(Field("LOW_POWER", 4), Field("RATE", 0, 4, RATE_CODES)),
        ),
        Register(
            "POWER_CTL", 0x2D,
            fields=(Field("LINK", 5), Field("AUTO_SLEEP", 4), Field("MEASURE", 3),
                    Field("SLEEP", 2), Field("WAKEUP", 0, 2)),
        ),
        Register("INT_ENABLE", 0x2E, fields=_INT_BITS),
        Register("INT_MAP", 0x2F, fields=_INT_BITS),
        Register("INT_SOURCE", 0x30, reset=0x02, writable=False, fields=_INT_BITS),
        Register(
            "DATA_FORMAT", 0x31,
            fields=(Field("SELF_TEST", 7), Field("SPI", 6), Field("INT_INVERT", 5),
                    Field("FULL_RES", 3), Field("JUSTIFY", 2), Field("RANGE", 0, 2, RANGE_CODES)),
        ),
        Register("DATAX0", 0x32, writable=False),
        Register("DATAX1", 0x33, writable=False),
        Register("DATAY0", 0x34, writable=False),
        Register("DATAY1", 0x35, writable=False),
        Register("DATAZ0", 0x36, writable=False),
        Register("DATAZ1", 0x37, writable=False),
        Register(
            "FIFO_CTL", 0x38,
            fields=(Field("FIFO_MODE", 6, 2, FIFO_MODES), Field("TRIGGER", 5),
                    Field("SAMPLES", 0, 5)),
        ),
        Register(
            "FIFO_STATUS", 0x39, writable=False,
            fields=(Field("FIFO_TRIG", 7), Field("ENTRIES", 0, 6)),
        ),
    ],
)

SPEC = ChipSpec(
    name="ADXL345",
    key="adxl345",
    addresses=(0x53, 0x1D),
    id_register=REGS.address("DEVID"),
    ids=MappingProxyType({0xE5: "ADXL345"}),
    rates_hz=(50.0, 100.0, 200.0, 400.0, 800.0),
    ranges_g=(2, 4, 8, 16),
    fifo_capacity=32,
    noise_density_ug_rthz=290.0,
)

#: Self-test limits at VS = 2.5 V (datasheet Table 1), scaled ×1.77 (X/Y) and ×1.47 (Z) for the
#: 3.3 V a Raspberry Pi supplies. Only the minimum really matters: the response is bimodal and
#: a part over the maximum is not necessarily bad, so the upper limits are kept generous.
SELF_TEST_LIMITS_G = ((0.20 * 1.77, 2.10 * 1.77), (-2.10 * 1.77, -0.20 * 1.77),
                      (0.30 * 1.47, 3.40 * 1.47))
#: A data burst is one FIFO entry: X, Y, Z as little-endian int16.
ENTRY_BYTES = 6


class ADXL345(ChipDriver):
    spec = SPEC
    regs = REGS

    @property
    def lsb_g(self) -> float:
        return LSB_G

    def configure(self, interrupt: bool) -> None:
        r, w = self.regs, self.device.write
        # Standby first: the datasheet asks for it before changing rate, format or FIFO.
        w(r.address("POWER_CTL"), 0x00)
        w(r.address("INT_ENABLE"), 0x00)
        w(r.address("BW_RATE"), r.compose("BW_RATE", RATE=self.rate_hz))
        w(r.address("DATA_FORMAT"), r.compose("DATA_FORMAT", FULL_RES=1, RANGE=self.range_g))
        for offset in ("OFSX", "OFSY", "OFSZ"):
            w(r.address(offset), 0x00)
        # Bypass empties the FIFO, then stream keeps the newest samples.
        w(r.address("FIFO_CTL"), r.compose("FIFO_CTL", FIFO_MODE="bypass"))
        w(r.address("FIFO_CTL"), self._fifo_ctl())
        w(r.address("INT_MAP"), 0x00)  # everything on INT1
        if interrupt:
            w(r.address("INT_ENABLE"), r.compose("INT_ENABLE", WATERMARK=1))
        w(r.address("POWER_CTL"), r.compose("POWER_CTL", MEASURE=1))

    def _fifo_ctl(self) -> int:
        return self.regs.compose("FIFO_CTL", FIFO_MODE="stream", SAMPLES=self.watermark)

    def is_configured(self) -> bool:
        r = self.regs
        return (
            self.device.read(r.address("FIFO_CTL")) == self._fifo_ctl()
            and r.flag("POWER_CTL", self.device.read(r.address("POWER_CTL")), "MEASURE")
        )

    def read_fifo(self) -> FifoRead:
        r = self.regs
        status = self.device.read(r.address("FIFO_STATUS"))
        source = self.device.read(r.address("INT_SOURCE"))
        entries = r.get("FIFO_STATUS", status, "ENTRIES")
        raw = self.device.read_repeated(r.address("DATAX0"), ENTRY_BYTES, entries)
        counts = np.frombuffer(raw, dtype="<i2").reshape(-1, 3)
        return FifoRead(
            acc_g=counts.astype(np.float64) * LSB_G,
            overrun=r.flag("INT_SOURCE", source, "OVERRUN"),
        )

    def self_test(self) -> SelfTestResult:
        r, w = self.regs, self.device.write
        # Datasheet procedure: 100-800 Hz, full resolution, ±16 g, average before and after.
        w(r.address("POWER_CTL"), 0x00)
        w(r.address("BW_RATE"), r.compose("BW_RATE", RATE=100.0))
        rate, self.rate_hz = self.rate_hz, 100.0
        fmt = r.compose("DATA_FORMAT", FULL_RES=1, RANGE=16)
        w(r.address("DATA_FORMAT"), fmt)
        w(r.address("FIFO_CTL"), r.compose("FIFO_CTL", FIFO_MODE="bypass"))
        w(r.address("FIFO_CTL"), r.compose("FIFO_CTL", FIFO_MODE="stream", SAMPLES=16))
        w(r.address("POWER_CTL"), r.compose("POWER_CTL", MEASURE=1))
        try:
            off = self.average_g(20)
            w(r.address("DATA_FORMAT"), fmt | r.compose("DATA_FORMAT", SELF_TEST=1))
            on = self.average_g(20)
        finally:
            w(r.address("DATA_FORMAT"), fmt)
            self.rate_hz = rate
        d = on - off
        return SelfTestResult(
            self.model, (float(d[0]), float(d[1]), float(d[2])), SELF_TEST_LIMITS_G
        )
