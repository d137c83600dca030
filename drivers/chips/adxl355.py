"""Analog Devices ADXL355: a low-noise 20-bit accelerometer, here in I2C mode.

Facts from ``shared/reference/sensors.md`` §4 (the ADXL354/355 datasheet itself was not
retrieved, so everything comes from the kernel, ADI no-OS and ADI Rust drivers and is tagged
there): identity DEVID_AD 0x00 = 0xAD, DEVID_MST 0x01 = 0x1D, PARTID 0x02 = 0xED (§4.1); soft
reset by writing 0x52 to RESET 0x2F, then ≥5 ms and a check that the shadow (trim) registers
0x50-0x54 read back unchanged (§4.1, §4.10); power-on state is STANDBY, measurement starts when
POWER_CTL b0 is cleared (§4.1, §4.10); ODR from FILTER b3:0, 4000 Hz / 2^code (§4.3); ±2/4/8 g
at 256000/128000/64000 LSB/g, 20-bit two's complement, big-endian, left-justified in 3 bytes
(§4.4); a FIFO of 96 single-axis entries = 32 XYZ sets, FIFO_ENTRIES counting entries, the
FIFO_DATA port at 0x11 not auto-incrementing, an X marker in b0 and an empty flag in b1 of each
entry's third byte, FIFO_SAMPLES setting the FIFO_FULL level (§4.5); INT_MAP and RANGE.INT_POL
(§4.6); the self-test at ±8 g with ST1 then ST1|ST2 (§4.7); noise density (§4.8).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.bus import Device
from hypnic.drivers.chip import ChipDriver, ChipFault, ChipSpec, FifoRead, SelfTestResult
from hypnic.drivers.registers import Field, Register, RegisterMap
from hypnic.drivers.timebase import Clock

#: FILTER.ODR_LPF: output rate = 4000 Hz / 2^code; the low-pass corner is a quarter of it.
ODR_CODES = MappingProxyType({4000.0 / 2**code: code for code in range(11)})
#: FILTER.HPF_CORNER as a fraction of the ODR [1 kernel]; hypnic leaves the high-pass off.
HPF_CORNERS = MappingProxyType(
    {"off": 0, 24.7e-4: 1, 6.2084e-4: 2, 1.5545e-4: 3, 0.3862e-4: 4, 0.0954e-4: 5,
     0.0238e-4: 6}
)
RANGE_CODES = MappingProxyType({2: 0b01, 4: 0b10, 8: 0b11})
LSB_PER_G = MappingProxyType({2: 256_000, 4: 128_000, 8: 64_000})

#: Output word: 20 bits, two's complement, left-justified in 3 big-endian bytes.
SAMPLE_BITS = 20
ENTRY_BYTES = 3
#: Bits of a FIFO entry's third byte below the data: the X-axis marker (set on the X entry
#: that starts each set, [2]) and the empty flag (the FIFO had nothing, [1 oaslananka]).
ENTRY_X_MARKER = 0x01
ENTRY_EMPTY = 0x02
#: Single-axis FIFO entries, and XYZ sets (one sample) in them.
FIFO_ENTRIES_MAX = 96
AXES = 3

#: Kernel: wait at least 5 ms after the soft reset; retry the reset up to 4 times when the
#: shadow registers do not come back unchanged (trim not reloaded).
RESET_WAIT_S = 0.005
RESET_TRIES = 4
#: After the wait, NVM_BUSY is polled this often and this many times before giving up.
NVM_POLL_S = 0.001
NVM_POLLS = 20
#: Temperature: 1885 LSB at 25 °C, -9.05 LSB/°C [2]; only the emulator reports it.
TEMP_LSB_AT_25C = 1885
TEMP_LSB_PER_C = -9.05

_INT_MAP_BITS = (
    Field("RDY_EN1", 0), Field("FULL_EN1", 1), Field("OVR_EN1", 2), Field("ACT_EN1", 3),
    Field("RDY_EN2", 4), Field("FULL_EN2", 5), Field("OVR_EN2", 6), Field("ACT_EN2", 7),
)

REGS = RegisterMap(
    "ADXL355",
    [
        Register("DEVID_AD", 0x00, reset=0xAD, writable=False),
        Register("DEVID_MST", 0x01, reset=0x1D, writable=False),
        Register("PARTID", 0x02, reset=0xED, writable=False),
        Register("REVID", 0x03, reset=0x01, writable=False),
        Register(
            "STATUS", 0x04, writable=False,
            fields=(Field("NVM_BUSY", 4), Field("ACTIVITY", 3), Field("FIFO_OVR", 2),
                    Field("FIFO_FULL", 1), Field("DATA_RDY", 0)),
        ),
        Register("FIFO_ENTRIES", 0x05, writable=False, fields=(Field("ENTRIES", 0, 7),)),
        Register("TEMP2", 0x06, writable=False, fields=(Field("TEMP_HI", 0, 4),)),
        Register("TEMP1", 0x07, writable=False),
        Register("XDATA3", 0x08, writable=False),
        Register("XDATA2", 0x09, writable=False),
        Register("XDATA1", 0x0A, writable=False),
        Register("YDATA3", 0x0B, writable=False),
        Register("YDATA2", 0x0C, writable=False),
        Register("YDATA1", 0x0D, writable=False),
        Register("ZDATA3", 0x0E, writable=False),
        Register("ZDATA2", 0x0F, writable=False),
        Register("ZDATA1", 0x10, writable=False),
        Register("FIFO_DATA", 0x11, writable=False),
        Register("OFFSET_X_H", 0x1E),
        Register("OFFSET_X_L", 0x1F),
        Register("OFFSET_Y_H", 0x20),
        Register("OFFSET_Y_L", 0x21),
        Register("OFFSET_Z_H", 0x22),
        Register("OFFSET_Z_L", 0x23),
        # ACT_EN bit positions: [1 ADI no-OS]; hypnic does not use activity detection.
        Register("ACT_EN", 0x24, fields=(Field("ACT_X", 0), Field("ACT_Y", 1), Field("ACT_Z", 2))),
        Register("ACT_THRESH_H", 0x25),
        Register("ACT_THRESH_L", 0x26),
        Register("ACT_COUNT", 0x27, reset=0x01),
        Register(
            "FILTER", 0x28,
            fields=(Field("HPF_CORNER", 4, 3, HPF_CORNERS), Field("ODR_LPF", 0, 4, ODR_CODES)),
        ),
        Register("FIFO_SAMPLES", 0x29, reset=0x60, fields=(Field("SAMPLES", 0, 7),)),
        Register("INT_MAP", 0x2A, fields=_INT_MAP_BITS),
        Register("SYNC", 0x2B, fields=(Field("EXT_CLK", 2), Field("EXT_SYNC", 0, 2))),
        Register(
            "RANGE", 0x2C, reset=0x81,
            fields=(Field("I2C_HS", 7), Field("INT_POL", 6), Field("RANGE", 0, 2, RANGE_CODES)),
        ),
        Register(
            "POWER_CTL", 0x2D, reset=0x01,
            fields=(Field("DRDY_OFF", 2), Field("TEMP_OFF", 1), Field("STANDBY", 0)),
        ),
        Register("SELF_TEST", 0x2E, fields=(Field("ST2", 1), Field("ST1", 0))),
        # Write-only: 0x52 starts a soft reset (reads as 0).
        Register("RESET", 0x2F, fields=(Field("CODE", 0, 8, {"reset": 0x52}),)),
        # Factory trim, read-only; compared before and after a soft reset.
        *(Register(f"SHADOW{i}", 0x50 + i, writable=False) for i in range(5)),
    ],
)

SPEC = ChipSpec(
    name="ADXL355",
    key="adxl355",
    addresses=(0x1D, 0x53),
    id_register=REGS.address("DEVID_AD"),
    ids=MappingProxyType({0xAD: "ADXL355"}),
    # Every ODR in the band; 100/200/400 Hz requests land on 125/250/500 Hz.
    rates_hz=(62.5, 125.0, 250.0, 500.0, 1000.0),
    ranges_g=(2, 4, 8),
    fifo_capacity=FIFO_ENTRIES_MAX // AXES,
    # [1]: quoted from the datasheet on ADI EngineerZone; early revisions say 25.
    noise_density_ug_rthz=22.5,
)

#: The identity block DEVID_AD, DEVID_MST, PARTID; the ADXL359 (PARTID 0xE9) has other
#: ranges and scales, so it is not accepted as an ADXL355.
IDENTITY = bytes(REGS[name].reset for name in ("DEVID_AD", "DEVID_MST", "PARTID"))
#: Self-test limits [1 plasmapper, "per datasheet"], at ±8 g.
SELF_TEST_RANGE_G = 8
SELF_TEST_LIMITS_G = ((0.1, 0.6), (0.1, 0.6), (0.5, 3.0))
#: The configuration registers FILTER..POWER_CTL are contiguous: one burst checks them all.
_CONFIG_FIRST = REGS.address("FILTER")
_CONFIG_LAST = REGS.address("POWER_CTL")
_SHADOW_FIRST = REGS.address("SHADOW0")
_SHADOW_LEN = 5


def decode_entries(entries: NDArray[np.uint8]) -> NDArray[np.int32]:
    """Signed 20-bit values of N×3 byte entries (big-endian, left-justified; the low nibble of
    the third byte holds FIFO flags and is shifted out)."""
    padded = np.zeros((len(entries), 4), dtype=np.uint8)
    padded[:, :ENTRY_BYTES] = entries
    # As a big-endian int32 the value sits in bits 31:12: an arithmetic shift sign-extends it.
    words = np.frombuffer(padded.tobytes(), dtype=">i4").astype(np.int32)
    return words >> (32 - SAMPLE_BITS)


def whole_sets(entries: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], NDArray[np.uint8], bool]:
    """Split FIFO entries (N×3 bytes, oldest first) into complete X, Y, Z sets.

    Empty entries are dropped; entries before the first X marker belong to a set whose X was
    lost and are discarded, as is any run between markers that is not exactly X, Y, Z. A last
    set cut short by the end of the read is returned separately, to be completed by the next
    read. Returns (sets as M×3 entries, the unfinished tail, whether anything was discarded).
    """
    flags = entries[:, 2]
    if (flags & ENTRY_EMPTY).any():
        entries = entries[(flags & ENTRY_EMPTY) == 0]
        flags = entries[:, 2]
    is_x = (flags & ENTRY_X_MARKER) != 0
    n = len(entries)
    if (
        n % AXES == 0
        and is_x[0::AXES].all()
        and not is_x[1::AXES].any()
        and not is_x[2::AXES].any()
    ):
        return entries, entries[:0], False  # the usual case: aligned, whole sets
    x_at = np.flatnonzero(is_x)
    run = np.diff(np.append(x_at, n))
    tail = entries[:0]
    if len(x_at) and run[-1] < AXES:
        tail = entries[x_at[-1] :]
    starts = x_at[run == AXES]
    keep = (starts[:, None] + np.arange(AXES)).reshape(-1)
    discarded = len(keep) + len(tail) < n
    return entries[keep], tail, discarded


class ADXL355(ChipDriver):
    spec = SPEC
    regs = REGS

    def __init__(self, device: Device, rate_hz: float, range_g: float, clock: Clock) -> None:
        super().__init__(device, rate_hz, range_g, clock)
        #: The configuration registers as configure left them (None: not configured).
        self._expected: bytes | None = None
        #: Entries of a set the last read cut short (normally empty).
        self._tail = np.zeros((0, ENTRY_BYTES), dtype=np.uint8)

    @classmethod
    def identify(cls, device: Device) -> str | None:
        # DEVID_AD alone (0xAD) could be a coincidence; all three identity bytes must match.
        # The ADXL345 sits at the same two addresses, with 0xE5 in register 0x00.
        if device.read_burst(cls.spec.id_register, len(IDENTITY)) == IDENTITY:
            return cls.spec.ids[IDENTITY[0]]
        return None

    @property
    def lsb_g(self) -> float:
        return 1.0 / LSB_PER_G[self.range_g]

    # --- setup ----------------------------------------------------------------------------

    def _soft_reset(self) -> None:
        """Soft reset, checked: the trim must reload (kernel and ADI Rust both check)."""
        r, d = self.regs, self.device
        self._expected = None
        self._tail = self._tail[:0]
        shadow = d.read_burst(_SHADOW_FIRST, _SHADOW_LEN)
        for _ in range(RESET_TRIES):
            d.write(r.address("RESET"), r.compose("RESET", CODE="reset"))
            self.clock.sleep(RESET_WAIT_S)
            for _ in range(NVM_POLLS):
                if not r.flag("STATUS", d.read(r.address("STATUS")), "NVM_BUSY"):
                    break
                self.clock.sleep(NVM_POLL_S)
            else:
                continue
            if d.read_burst(_SHADOW_FIRST, _SHADOW_LEN) == shadow:
                return
        raise ChipFault(f"{self.spec.name}: soft reset did not reload the trim registers")

    def _set_filter_and_range(self, range_g: int) -> None:
        """FILTER and RANGE, written in standby (where the soft reset leaves the chip)."""
        r, d = self.regs, self.device
        d.write(r.address("FILTER"), r.compose("FILTER", HPF_CORNER="off", ODR_LPF=self.rate_hz))
        # Keep I2C_HS as the chip has it (reset 1; its effect on a 100/400 kHz bus is [?]);
        # INT_POL resets to active low, the Pi's INT1 line is read active high.
        rng = d.read(r.address("RANGE"))
        d.write(r.address("RANGE"), r.update("RANGE", rng, INT_POL=1, RANGE=range_g))

    def configure(self, interrupt: bool) -> None:
        r, d = self.regs, self.device
        # The soft reset empties the FIFO, zeroes the offsets and leaves the chip in standby.
        self._soft_reset()
        self._set_filter_and_range(self.range_g)
        # FIFO_FULL fires at FIFO_SAMPLES single-axis entries: the watermark in XYZ sets × 3
        # (§4.5; whether it asserts at or above the level is [?], one set either way).
        d.write(r.address("FIFO_SAMPLES"), r.compose("FIFO_SAMPLES", SAMPLES=AXES * self.watermark))
        d.write(r.address("INT_MAP"), r.compose("INT_MAP", FULL_EN1=int(interrupt)))
        # Clearing STANDBY starts measuring (the opposite of "write 1 to measure" parts).
        d.write(r.address("POWER_CTL"), r.compose("POWER_CTL", STANDBY=0))
        self._expected = d.read_burst(_CONFIG_FIRST, _CONFIG_LAST - _CONFIG_FIRST + 1)

    def is_configured(self) -> bool:
        if self._expected is None:
            return False
        now = self.device.read_burst(_CONFIG_FIRST, len(self._expected))
        # A reset puts the chip back in standby with FILTER at 4 kHz: both show here.
        return now == self._expected

    # --- data -----------------------------------------------------------------------------

    def read_fifo(self) -> FifoRead:
        r, d = self.regs, self.device
        # STATUS and FIFO_ENTRIES are neighbours: one 2-byte burst. FIFO_OVR is taken to
        # clear when STATUS is read ([?]: the clear rules were not retrieved, §4.6).
        status, level = d.read_burst(r.address("STATUS"), 2)
        count = r.get("FIFO_ENTRIES", level, "ENTRIES")
        overrun = r.flag("STATUS", status, "FIFO_OVR")
        if count == 0:
            return FifoRead(np.zeros((0, AXES)), overrun)
        # FIFO_DATA does not auto-increment: one burst of 3·N bytes pops N entries.
        raw = d.read_burst(r.address("FIFO_DATA"), ENTRY_BYTES * count)
        entries = np.frombuffer(raw, dtype=np.uint8).reshape(-1, ENTRY_BYTES)
        if len(self._tail):
            entries = np.concatenate([self._tail, entries])
        # Align on the X marker and keep whole sets, as ADI's Rust driver does [1].
        sets, self._tail, discarded = whole_sets(entries)
        counts = decode_entries(sets).reshape(-1, AXES)
        # Discarded entries were samples whose other axes were lost: let the loop re-time.
        return FifoRead(counts.astype(np.float64) * self.lsb_g, overrun or discarded)

    # --- self-test ------------------------------------------------------------------------

    def self_test(self) -> SelfTestResult:
        r, d = self.regs, self.device
        # §4.7 [1 plasmapper]: ±8 g; in standby SELF_TEST = ST1, measure and average, then
        # ST1|ST2 (the force on) and average again. The ODR is left as configured: the
        # response does not depend on it, and the FIFO keeps up at the usual rates.
        range_g = self.range_g
        self._soft_reset()
        try:
            self.range_g = SELF_TEST_RANGE_G
            self._set_filter_and_range(SELF_TEST_RANGE_G)
            d.write(r.address("SELF_TEST"), r.compose("SELF_TEST", ST1=1))
            d.write(r.address("POWER_CTL"), r.compose("POWER_CTL", STANDBY=0))
            # The digital filter needs a few samples to settle after each step.
            off = self.average_g(20, settle_samples=16)
            d.write(r.address("SELF_TEST"), r.compose("SELF_TEST", ST1=1, ST2=1))
            on = self.average_g(20, settle_samples=16)
        finally:
            self.range_g = range_g
            d.write(r.address("SELF_TEST"), 0x00)
            d.write(r.address("POWER_CTL"), r.compose("POWER_CTL", STANDBY=1))
            self._expected = None
            self._tail = self._tail[:0]
        dev = on - off
        return SelfTestResult(
            self.model, (float(dev[0]), float(dev[1]), float(dev[2])), SELF_TEST_LIMITS_G
        )
