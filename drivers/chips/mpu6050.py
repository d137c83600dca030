"""InvenSense/TDK MPU-6050, and the MPU-6500 / MPU-9250 told apart by WHO_AM_I.

Facts from ``shared/reference/sensors.md`` §3 (MPU-6000/6050 product specification and
register map, MPU-9250 PS/RM, the Linux inv_mpu6050 driver, Klipper, libdriver):

- §3.1: addresses 0x68/0x69 [2]; WHO_AM_I (0x75) is 0x68 on the 6050, held in bits 6:1 only [2],
  0x70 on the 6500 and 0x71 on the 9250 [2]. The 6050 powers up asleep, PWR_MGMT_1 = 0x40 [1];
  DEVICE_RESET clears itself when done; allow it 100 ms [1].
- §3.3: sample rate = 1 kHz / (1 + SMPLRT_DIV) while DLPF_CFG is 1-6 [2]; the DLPF bandwidths
  [1 RM]; ±2/4/8/16 g at 16384/8192/4096/2048 LSB/g, two's complement, high byte first [2].
- §3.5: a 1024-byte FIFO [2] fed with 6-byte accel frames when FIFO_EN (0x23) = ACCEL and
  USER_CTRL.FIFO_EN [2]; FIFO_COUNT is a byte count read high byte first in one burst [2];
  FIFO_R_W (0x74) does not auto-increment [2]; FIFO_RESET acts only while USER_CTRL.FIFO_EN = 0
  [1]; the FIFO always overwrites its oldest bytes and 1024 is not a multiple of 6, so an
  overflow misaligns the frames [2]; the kernel resets it at 3 frames short of full [1].
  Here the FIFO is stopped first and its whole frames kept before the reset (see
  ``MPU6050._drain_and_reset``): the alignment follows from the frozen count.
- §3.6: no watermark interrupt; DATA_RDY with LATCH_INT_EN holds INT until INT_STATUS is
  read [1 RM].
- §3.7: self-test at ±8 g; the factory trim code of each axis is split over SELF_TEST_X/Y/Z
  and SELF_TEST_A; FT = 0.34 g × 1.034^(code - 1) [1 libdriver]; pass within ±14 % of FT [2];
  a part with code 0 passes on 0.30-0.95 g [1].
- §3.9 (the 6500/9250) [1 unless noted]: a 512-byte FIFO [2] with a 13-bit count [2], accel
  DLPF in ACCEL_CONFIG2 [2], CONFIG bit 6 chooses stop-when-full [2], PWR_MGMT_1 resets to
  0x01 [1]; self-test codes are whole bytes, FT = 2620 LSB at ±2 g × 1.01^(code - 1), pass
  at 0.5-1.5 × FT, or 225-675 mg for code 0 [1 libdriver].
- §3.9: start-up 20 ms from sleep on the 6050, 30 ms on the 6500 family [2].
"""

from __future__ import annotations

import errno
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.bus import BusError, Device
from hypnic.drivers.chip import ChipDriver, ChipFault, ChipSpec, FifoRead, SelfTestResult
from hypnic.drivers.registers import Field, Register, RegisterMap
from hypnic.drivers.timebase import Clock

MODEL_6050, MODEL_6500, MODEL_9250 = "MPU-6050", "MPU-6500", "MPU-9250"

#: WHO_AM_I value → model. The 6050 holds its 0x68 in bits 6:1 only (§3.1), so it is also
#: matched through ``WHO_AM_I_6050_MASK``.
IDS = MappingProxyType({0x68: MODEL_6050, 0x70: MODEL_6500, 0x71: MODEL_9250})
WHO_AM_I_6050_MASK = 0x7E

#: FIFO size in bytes per model (§3.5, §3.9).
FIFO_BYTES = MappingProxyType({MODEL_6050: 1024, MODEL_6500: 512, MODEL_9250: 512})
#: Accel X, Y, Z, each a big-endian int16: one FIFO frame.
FRAME_BYTES = 6
#: The kernel's margin: a FIFO this many frames short of full is treated as overflowing,
#: because more frames can land between reading the count and reading the data.
FULL_MARGIN_FRAMES = 3

#: The internal rate the divider divides while DLPF_CFG is 1-6 (§3.3).
INTERNAL_RATE_HZ = 1000.0
#: ... and with DLPF_CFG 0 or 7 (the DLPF off); the accel itself still samples at 1 kHz.
INTERNAL_RATE_DLPF_OFF_HZ = 8000.0
#: The dividers the driver uses: 50, 100, 125, 200, 250 and 500 Hz. 400 Hz has no divider
#: (1000/400 - 1 is not whole), so a request for it gets the nearest, 500 Hz.
DIVIDERS = (19, 9, 7, 4, 3, 1)

#: Accel bandwidth (Hz) per DLPF_CFG on the 6050 (CONFIG, shared with the gyro) [1 RM].
DLPF_BW_6050 = MappingProxyType({0: 260.0, 1: 184.0, 2: 94.0, 3: 44.0, 4: 21.0, 5: 10.0,
                                 6: 5.0})
#: Accel bandwidth (Hz) per A_DLPF_CFG on the 6500/9250 (ACCEL_CONFIG2, FCHOICE_B = 0) [1].
A_DLPF_BW_6500 = MappingProxyType({0: 218.1, 1: 218.1, 2: 99.0, 3: 44.8, 4: 21.2, 5: 10.2,
                                   6: 5.05, 7: 420.0})
#: The DLPF codes that keep the 1 kHz internal rate (the divider only works with these).
DLPF_CODES = (1, 2, 3, 4, 5, 6)

RANGE_CODES = MappingProxyType({2: 0b00, 4: 0b01, 8: 0b10, 16: 0b11})
#: Full-scale is ±range_g over the int16 span.
COUNTS_PER_RANGE = 32768

#: DEVICE_RESET clears itself once the reset is done (RM); it is polled at this step, for at
#: most the 100 ms the RM and the kernel allow it (§3.1). The emulator clears it at once.
RESET_POLL_S = 0.010
RESET_TIMEOUT_S = 0.100
#: The accel start-up from sleep (§3.9), waited before self-test averages.
STARTUP_S = MappingProxyType({MODEL_6050: 0.020, MODEL_6500: 0.030, MODEL_9250: 0.030})

# --- self-test (§3.7, §3.9) -------------------------------------------------------------------
SELF_TEST_RATE_HZ = 200.0
SELF_TEST_SAMPLES = 100
#: The self-test actuation settles within a few samples; InvenSense's code waits ~20 ms.
SELF_TEST_SETTLE_S = 0.020
#: 6050: ranges for the test, FT at code 1, growth per code step, tolerance, code-0 window.
SELF_TEST_RANGE_6050 = 8
FT_6050_CODE1_G = 0.34
FT_6050_STEP = 1.034
FT_6050_TOLERANCE = 0.14
CODE0_WINDOW_6050_G = (0.30, 0.95)
#: 6500/9250 (libdriver, from InvenSense's app note which was not retrieved [1]).
SELF_TEST_RANGE_6500 = 2
FT_6500_CODE1_LSB = 2620.0
FT_6500_STEP = 1.01
FT_6500_RATIO = (0.5, 1.5)
CODE0_WINDOW_6500_G = (0.225, 0.675)

_INT_BITS = (
    Field("WOM", 6),  # 6500/9250 only
    Field("FIFO_OFLOW", 4),
    Field("I2C_MST", 3),
    Field("DATA_RDY", 0),
)

REGS = RegisterMap(
    "MPU-6050",
    [
        # On the 6050 the accel trim code of each axis is split: bits 4:2 here (b7:5), bits 1:0
        # in SELF_TEST_A. On the 6500/9250 the same addresses hold a whole 8-bit accel code.
        Register("SELF_TEST_X", 0x0D, writable=False,
                 fields=(Field("A_TEST_HI", 5, 3), Field("G_TEST", 0, 5),
                         Field("A_CODE_6500", 0, 8))),
        Register("SELF_TEST_Y", 0x0E, writable=False,
                 fields=(Field("A_TEST_HI", 5, 3), Field("G_TEST", 0, 5),
                         Field("A_CODE_6500", 0, 8))),
        Register("SELF_TEST_Z", 0x0F, writable=False,
                 fields=(Field("A_TEST_HI", 5, 3), Field("G_TEST", 0, 5),
                         Field("A_CODE_6500", 0, 8))),
        Register("SELF_TEST_A", 0x10, writable=False,
                 fields=(Field("XA_TEST_LO", 4, 2), Field("YA_TEST_LO", 2, 2),
                         Field("ZA_TEST_LO", 0, 2))),
        Register("SMPLRT_DIV", 0x19, fields=(Field("DIV", 0, 8),)),
        Register(
            "CONFIG", 0x1A,
            # FIFO_MODE exists on the 6500/9250 only (1 = stop writing when full).
            fields=(Field("FIFO_MODE", 6), Field("EXT_SYNC_SET", 3, 3), Field("DLPF_CFG", 0, 3)),
        ),
        Register("GYRO_CONFIG", 0x1B, fields=(Field("FS_SEL", 3, 2), Field("FCHOICE_B", 0, 2))),
        Register(
            "ACCEL_CONFIG", 0x1C,
            fields=(Field("XA_ST", 7), Field("YA_ST", 6), Field("ZA_ST", 5),
                    Field("AFS_SEL", 3, 2, RANGE_CODES)),
        ),
        # 6500/9250 only (§3.9); a reserved address on the 6050, never written there.
        Register(
            "ACCEL_CONFIG2", 0x1D,
            fields=(Field("ACCEL_FCHOICE_B", 3), Field("A_DLPF_CFG", 0, 3)),
        ),
        Register(
            "FIFO_EN", 0x23,
            fields=(Field("TEMP", 7), Field("XG", 6), Field("YG", 5), Field("ZG", 4),
                    Field("ACCEL", 3), Field("SLV2", 2), Field("SLV1", 1), Field("SLV0", 0)),
        ),
        Register(
            "INT_PIN_CFG", 0x37,
            fields=(Field("INT_LEVEL", 7), Field("INT_OPEN", 6), Field("LATCH_INT_EN", 5),
                    Field("INT_RD_CLEAR", 4), Field("FSYNC_INT_LEVEL", 3),
                    Field("FSYNC_INT_EN", 2), Field("I2C_BYPASS_EN", 1)),
        ),
        Register("INT_ENABLE", 0x38, fields=_INT_BITS),
        Register("INT_STATUS", 0x3A, writable=False, fields=_INT_BITS),
        Register("ACCEL_XOUT_H", 0x3B, writable=False),
        Register("ACCEL_XOUT_L", 0x3C, writable=False),
        Register("ACCEL_YOUT_H", 0x3D, writable=False),
        Register("ACCEL_YOUT_L", 0x3E, writable=False),
        Register("ACCEL_ZOUT_H", 0x3F, writable=False),
        Register("ACCEL_ZOUT_L", 0x40, writable=False),
        Register("TEMP_OUT_H", 0x41, writable=False),
        Register("TEMP_OUT_L", 0x42, writable=False),
        Register("GYRO_XOUT_H", 0x43, writable=False),
        Register("GYRO_XOUT_L", 0x44, writable=False),
        Register("GYRO_YOUT_H", 0x45, writable=False),
        Register("GYRO_YOUT_L", 0x46, writable=False),
        Register("GYRO_ZOUT_H", 0x47, writable=False),
        Register("GYRO_ZOUT_L", 0x48, writable=False),
        Register(
            "SIGNAL_PATH_RESET", 0x68,
            fields=(Field("GYRO_RESET", 2), Field("ACCEL_RESET", 1), Field("TEMP_RESET", 0)),
        ),
        Register(
            "USER_CTRL", 0x6A,
            fields=(Field("FIFO_EN", 6), Field("I2C_MST_EN", 5), Field("I2C_IF_DIS", 4),
                    Field("FIFO_RESET", 2), Field("I2C_MST_RESET", 1),
                    Field("SIG_COND_RESET", 0)),
        ),
        Register(
            "PWR_MGMT_1", 0x6B, reset=0x40,  # the 6050's value; the 6500/9250 reset to 0x01
            fields=(Field("DEVICE_RESET", 7), Field("SLEEP", 6), Field("CYCLE", 5),
                    Field("TEMP_DIS", 3), Field("CLKSEL", 0, 3)),
        ),
        Register(
            "PWR_MGMT_2", 0x6C,
            fields=(Field("LP_WAKE_CTRL", 6, 2), Field("STBY_XA", 5), Field("STBY_YA", 4),
                    Field("STBY_ZA", 3), Field("STBY_XG", 2), Field("STBY_YG", 1),
                    Field("STBY_ZG", 0)),
        ),
        # The 6500/9250 count has 13 bits (only 5 in the high byte, §3.9); the 6050's never
        # passes 1024, so the same 5-bit mask reads both.
        Register("FIFO_COUNTH", 0x72, writable=False, fields=(Field("COUNT_HI", 0, 5),)),
        Register("FIFO_COUNTL", 0x73, writable=False),
        Register("FIFO_R_W", 0x74),
        Register("WHO_AM_I", 0x75, reset=0x68, writable=False),
    ],
)

SPEC = ChipSpec(
    name=MODEL_6050,
    key="mpu6050",
    addresses=(0x68, 0x69),
    id_register=REGS.address("WHO_AM_I"),
    ids=IDS,
    rates_hz=tuple(sorted(INTERNAL_RATE_HZ / (1 + d) for d in DIVIDERS)),
    ranges_g=(2, 4, 8, 16),
    fifo_capacity=FIFO_BYTES[MODEL_6050] // FRAME_BYTES,  # 170 whole frames in 1024 bytes
    noise_density_ug_rthz=400.0,
)

#: CLKSEL 1: the X gyro's PLL, which the RM recommends over the internal oscillator (§3.4).
CLKSEL_PLL = 1


def divider_for(rate_hz: float) -> int:
    """SMPLRT_DIV for ``rate_hz`` with the DLPF on (1 kHz internal rate)."""
    return round(INTERNAL_RATE_HZ / rate_hz) - 1


def dlpf_for(rate_hz: float, bandwidths: MappingProxyType[int, float]) -> int:
    """The widest DLPF setting whose bandwidth stays under half the output rate."""
    fitting = [c for c in DLPF_CODES if bandwidths[c] < rate_hz / 2]
    return max(fitting, key=lambda c: bandwidths[c]) if fitting else DLPF_CODES[-1]


def factory_trim_g(model: str, code: int) -> float:
    """The self-test response the factory measured, in g, for a trim ``code`` (0: none)."""
    if code == 0:
        return 0.0
    if model == MODEL_6050:
        return FT_6050_CODE1_G * FT_6050_STEP ** (code - 1)
    lsb_per_g = COUNTS_PER_RANGE / SELF_TEST_RANGE_6500
    return FT_6500_CODE1_LSB / lsb_per_g * FT_6500_STEP ** (code - 1)


def self_test_limits_g(model: str, code: int) -> tuple[float, float]:
    """The deflection (g) a good axis with trim ``code`` shows, as absolute limits."""
    ft = factory_trim_g(model, code)
    if model == MODEL_6050:
        if code == 0:
            return CODE0_WINDOW_6050_G
        return (ft * (1 - FT_6050_TOLERANCE), ft * (1 + FT_6050_TOLERANCE))
    if code == 0:
        return CODE0_WINDOW_6500_G
    return (ft * FT_6500_RATIO[0], ft * FT_6500_RATIO[1])


def trim_codes(model: str, raw: bytes) -> tuple[int, int, int]:
    """Accel trim codes X, Y, Z from the bytes of SELF_TEST_X..SELF_TEST_A (0x0D-0x10)."""
    r = REGS
    names = ("SELF_TEST_X", "SELF_TEST_Y", "SELF_TEST_Z")
    if model != MODEL_6050:
        x, y, z = (int(r.get(name, b, "A_CODE_6500")) for name, b in zip(names, raw[:3],
                                                                          strict=True))
        return x, y, z
    low = raw[3]
    x, y, z = (
        (int(r.get(name, b, "A_TEST_HI")) << 2) | int(r.get("SELF_TEST_A", low, lo))
        for name, b, lo in zip(names, raw[:3], ("XA_TEST_LO", "YA_TEST_LO", "ZA_TEST_LO"),
                               strict=True)
    )
    return x, y, z


class MPU6050(ChipDriver):
    """MPU-6050 / MPU-6500 / MPU-9250 accelerometer through its FIFO.

    The family has no FIFO watermark interrupt. With the interrupt line wired, DATA_RDY is
    latched on INT; each wake-up reads INT_STATUS (which drops the line until the next sample)
    and FIFO_COUNT, and reads the FIFO only once it holds a watermark, in whole watermarks,
    leaving the rest for the next wake-up. So reads stay watermark-sized, at the cost of two
    small transfers per sample on the way there. Without the line, each read takes all the
    whole frames waiting.
    """

    spec = SPEC
    regs = REGS

    def __init__(self, device: Device, rate_hz: float, range_g: float, clock: Clock) -> None:
        super().__init__(device, rate_hz, range_g, clock)
        self._interrupt = False
        self._pending_overrun = False
        self._expected: dict[int, int] = {}

    @classmethod
    def identify(cls, device: Device) -> str | None:
        value = device.read(cls.spec.id_register)
        if value in cls.spec.ids:
            return cls.spec.ids[value]
        # The 6050 keeps its identity in bits 6:1; bits 7 and 0 are not part of it (§3.1).
        if value & WHO_AM_I_6050_MASK == 0x68:
            return MODEL_6050
        return None

    # --- facts that depend on the model -------------------------------------------------

    @property
    def lsb_g(self) -> float:
        return self.range_g / COUNTS_PER_RANGE

    @property
    def watermark(self) -> int:
        """Half the smallest FIFO of the family (the 6500/9250's 512 bytes: 42 frames).

        The acquisition loop fixes its polling period from this before the model is known,
        and half the 6050's FIFO (85 frames) would be all of a 6500's."""
        return (min(FIFO_BYTES.values()) // FRAME_BYTES) // 2

    @property
    def fifo_bytes(self) -> int:
        return FIFO_BYTES.get(self.model, FIFO_BYTES[MODEL_6050])

    @property
    def _full_level(self) -> int:
        """FIFO_COUNT at or above which the FIFO is drained and reset (the kernel's margin)."""
        return self.fifo_bytes - FULL_MARGIN_FRAMES * FRAME_BYTES

    # --- configuration --------------------------------------------------------------------

    def configure(self, interrupt: bool) -> None:
        self._interrupt = interrupt
        self._pending_overrun = False
        self._start(self.rate_hz, self.range_g, interrupt)

    def _start(self, rate_hz: float, range_g: int, interrupt: bool) -> None:
        """Reset, set everything while asleep, arm the FIFO, then wake: the first frame in the
        FIFO is the first sample after waking."""
        r, w = self.regs, self.device.write
        self._device_reset()
        # The 6500/9250 come out of reset awake (0x01): hold every model asleep meanwhile.
        w(r.address("PWR_MGMT_1"), r.compose("PWR_MGMT_1", SLEEP=1, CLKSEL=CLKSEL_PLL))
        expected = self._settings(rate_hz, range_g, interrupt)
        for name in ("SMPLRT_DIV", "CONFIG", "ACCEL_CONFIG", "ACCEL_CONFIG2", "INT_PIN_CFG",
                     "INT_ENABLE"):
            address = r.address(name)
            if address in expected:
                w(address, expected[address])
        self._reset_fifo()
        w(r.address("PWR_MGMT_1"), expected[r.address("PWR_MGMT_1")])
        self._expected = expected
        if not self.is_configured():
            # Written too early after the reset, or a glitch: the loop backs off and retries.
            self._expected = {}
            raise ChipFault("the configuration did not take")

    def _device_reset(self) -> None:
        """Every register back to its power-on value; waits until the chip says it is done."""
        r = self.regs
        address = r.address("PWR_MGMT_1")
        self.device.write(address, r.compose("PWR_MGMT_1", DEVICE_RESET=1))
        deadline = self.clock.monotonic() + RESET_TIMEOUT_S
        while self.clock.monotonic() < deadline:
            self.clock.sleep(RESET_POLL_S)
            try:
                if not r.flag("PWR_MGMT_1", self.device.read(address), "DEVICE_RESET"):
                    return
            except BusError:
                continue  # [?] a chip busy resetting may not answer: ask again
        raise ChipFault("DEVICE_RESET did not clear within 100 ms")

    def _settings(self, rate_hz: float, range_g: int, interrupt: bool) -> dict[int, int]:
        """Register address → the value configure leaves there (is_configured compares)."""
        r = self.regs
        on_6050 = self.model == MODEL_6050
        dlpf = dlpf_for(rate_hz, DLPF_BW_6050)
        values = {
            "SMPLRT_DIV": r.compose("SMPLRT_DIV", DIV=divider_for(rate_hz)),
            # FIFO_MODE 0: overwrite the oldest when full (the 6050 has nothing else).
            "CONFIG": r.compose("CONFIG", FIFO_MODE=0, DLPF_CFG=dlpf),
            "ACCEL_CONFIG": r.compose("ACCEL_CONFIG", AFS_SEL=range_g),
            # Latched, active high, push-pull, cleared by reading INT_STATUS only.
            "INT_PIN_CFG": r.compose("INT_PIN_CFG", LATCH_INT_EN=1),
            "INT_ENABLE": r.compose("INT_ENABLE", DATA_RDY=1, FIFO_OFLOW=1) if interrupt else 0,
            "FIFO_EN": r.compose("FIFO_EN", ACCEL=1),
            "USER_CTRL": r.compose("USER_CTRL", FIFO_EN=1),
            "PWR_MGMT_1": r.compose("PWR_MGMT_1", CLKSEL=CLKSEL_PLL),
        }
        if not on_6050:
            # The accel has its own DLPF here; CONFIG's (the gyro's) must still be 1-6 for the
            # divider to apply.
            values["ACCEL_CONFIG2"] = r.compose(
                "ACCEL_CONFIG2", ACCEL_FCHOICE_B=0, A_DLPF_CFG=dlpf_for(rate_hz, A_DLPF_BW_6500)
            )
        return {r.address(name): value for name, value in values.items()}

    def _reset_fifo(self) -> None:
        """Empty the FIFO and start it again with accel frames only (§3.5, Klipper's order)."""
        r, w = self.regs, self.device.write
        w(r.address("FIFO_EN"), 0x00)
        # FIFO_RESET is ignored unless USER_CTRL.FIFO_EN is 0: this one write does both.
        w(r.address("USER_CTRL"), r.compose("USER_CTRL", FIFO_EN=0, FIFO_RESET=1))
        w(r.address("USER_CTRL"), r.compose("USER_CTRL", FIFO_EN=1))
        self.device.read(r.address("INT_STATUS"))  # clears a stale FIFO_OFLOW_INT
        w(r.address("FIFO_EN"), r.compose("FIFO_EN", ACCEL=1))

    def is_configured(self) -> bool:
        if not self._expected:
            return False
        r = self.regs
        # SMPLRT_DIV..FIFO_EN in one burst, USER_CTRL and PWR_MGMT_1 in another. A reset shows
        # in PWR_MGMT_1 on the 6050 (asleep again) and in FIFO_EN/USER_CTRL on every model.
        now: dict[int, int] = {}
        for first, last in (("SMPLRT_DIV", "FIFO_EN"), ("USER_CTRL", "PWR_MGMT_1")):
            start = r.address(first)
            block = self.device.read_burst(start, r.address(last) - start + 1)
            now.update((start + i, value) for i, value in enumerate(block))
        return all(now[a] == v for a, v in self._expected.items() if a in now)

    # --- reading ------------------------------------------------------------------------

    def _fifo_count(self) -> int:
        """Bytes in the FIFO: FIFO_COUNTH then FIFO_COUNTL in one burst (H latches both)."""
        r = self.regs
        high, low = self.device.read_burst(r.address("FIFO_COUNTH"), 2)
        return (int(r.get("FIFO_COUNTH", high, "COUNT_HI")) << 8) | low

    def _decode(self, raw: bytes) -> NDArray[np.float64]:
        counts = np.frombuffer(raw, dtype=">i2").reshape(-1, 3)
        return counts.astype(np.float64) * self.lsb_g

    def read_fifo(self) -> FifoRead:
        r, d = self.regs, self.device
        flagged = False
        if self._interrupt:
            # Reading INT_STATUS drops the latched line until the next sample is ready.
            status = d.read(r.address("INT_STATUS"))
            flagged = r.flag("INT_STATUS", status, "FIFO_OFLOW")
        count = self._fifo_count()
        if flagged or count >= self._full_level or count % FRAME_BYTES:
            return self._drain_and_reset(flagged)
        frames = count // FRAME_BYTES
        if self._interrupt:
            # No watermark interrupt: wait for a watermark's worth, and read whole watermarks.
            frames -= frames % self.watermark
        if frames == 0:
            return FifoRead(np.zeros((0, 3)))
        raw = d.read_burst(r.address("FIFO_R_W"), frames * FRAME_BYTES)
        overrun, self._pending_overrun = self._pending_overrun, False
        return FifoRead(self._decode(raw), overrun)

    def _drain_and_reset(self, flagged: bool) -> FifoRead:
        """Recover from an overflow (or its near miss): stop the FIFO, read the whole frames
        in it, reset it.

        Writing FIFO_EN = 0 stops frames entering, so the count and the bytes hold still. The
        newest byte in the FIFO always ends a frame (frames go in whole; only the oldest bytes
        are dropped), so a partial frame can only sit at the head and is ``count % 6`` bytes
        long: arithmetic on a frozen count, not a guess at the phase. Resetting without
        reading first would lose the FIFO's contents too, and on a bus slow enough that every
        read finds the FIFO overflowed it would never deliver a sample at all."""
        r, d = self.regs, self.device
        frozen_at = self.clock.monotonic()
        d.write(r.address("FIFO_EN"), 0x00)
        count = self._fifo_count()
        overflowed = flagged or count >= self.fifo_bytes or count % FRAME_BYTES != 0
        raw = d.read_burst(r.address("FIFO_R_W"), count) if count >= FRAME_BYTES else b""
        acc = self._decode(raw[count % FRAME_BYTES :])
        self._reset_fifo()
        # Frames the chip made while its FIFO was stopped are lost too: the next read says so,
        # and the acquisition loop counts them from the time that passed.
        missed = (self.clock.monotonic() - frozen_at) * self.rate_hz >= 0.5
        if len(acc) == 0:
            # An empty FifoRead's flag is not looked at: the next read with samples carries it.
            self._pending_overrun |= overflowed or missed
            return FifoRead(acc)
        overrun = overflowed or self._pending_overrun
        self._pending_overrun = missed
        return FifoRead(acc, overrun)

    # --- self-test -------------------------------------------------------------------------

    def self_test(self) -> SelfTestResult:
        r, w = self.regs, self.device.write
        model = self.identify(self.device)
        if model is None:
            raise OSError(errno.ENODEV, f"no MPU-6050 family chip at 0x{self.device.address:02X}")
        self.model = model
        st_range = SELF_TEST_RANGE_6050 if model == MODEL_6050 else SELF_TEST_RANGE_6500
        saved = (self.rate_hz, self.range_g, self._interrupt)
        self.rate_hz, self.range_g, self._interrupt = SELF_TEST_RATE_HZ, st_range, False
        self._pending_overrun = False
        accel_config = r.address("ACCEL_CONFIG")
        plain = r.compose("ACCEL_CONFIG", AFS_SEL=st_range)
        try:
            self._start(self.rate_hz, st_range, interrupt=False)
            self.clock.sleep(STARTUP_S[model])
            off = self.average_g(SELF_TEST_SAMPLES)
            w(accel_config, plain | r.compose("ACCEL_CONFIG", XA_ST=1, YA_ST=1, ZA_ST=1))
            self.clock.sleep(SELF_TEST_SETTLE_S)
            on = self.average_g(SELF_TEST_SAMPLES)
            w(accel_config, plain)
            first = r.address("SELF_TEST_X")
            codes = trim_codes(model, self.device.read_burst(first, r.address("SELF_TEST_A")
                                                             - first + 1))
        finally:
            self.rate_hz, self.range_g, self._interrupt = saved
            self._expected = {}  # the chip now needs configure
        d = on - off
        lo_hi = tuple(self_test_limits_g(model, c) for c in codes)
        notes = tuple(f"{axis} trim code {c}" + (" (none: generic window)" if c == 0 else "")
                      for axis, c in zip("XYZ", codes, strict=True))
        return SelfTestResult(
            model, (float(d[0]), float(d[1]), float(d[2])),
            (lo_hi[0], lo_hi[1], lo_hi[2]), notes,
        )
