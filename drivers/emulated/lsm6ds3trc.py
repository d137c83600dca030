"""Register-level LSM6DS3TR-C emulator (``shared/reference/sensors.md`` §6.4, §6.8).

Besides what ``lsm6ds_common`` models: a FIFO of 2048 untagged 16-bit words; with the
accelerometer in it (FIFO_CTRL5.ODR_FIFO ≠ 0, FIFO_CTRL3.DEC_FIFO_XL = 001, FIFO_MODE not
bypass) every sample adds three words, X, Y, Z; continuous mode overwrites the oldest *word*,
so after an overrun the oldest sample may have lost its X (and Y); FIFO_STATUS3/4.FIFO_PATTERN
is the slot of the next word to be read (0 X, 1 Y, 2 Z); FIFO_STATUS1/2 give DIFF_FIFO in
words (11 bits, so a completely full FIFO of 2048 words reads 0 with FIFO_EMPTY clear [?]),
WaterM (DIFF_FIFO ≥ FTH), OVER_RUN (clears when a word is read [?]), FIFO_FULL_SMART (no room
for the next sample) and FIFO_EMPTY; a read of FIFO_DATA_OUT_L/H (0x3E/0x3F) pops a word when
its high byte is read, and a burst from 0x3E serves successive words; CTRL3_C.BLE = 1 puts
the high byte first [?: the datasheet was not retrieved]; INT1 from INT1_FTH / INT1_FIFO_OVR /
INT1_FULL_FLAG.

Not modelled: decimation other than 1 (nothing enters the FIFO), the gyroscope, temperature,
timestamp and pedometer data sets (FIFO_PATTERN never goes past 2), an ODR_FIFO different from
ODR_XL.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.chips.lsm6ds3trc import FIFO_WORDS, REGS, SPEC, WORD_BYTES, WORDS_PER_SAMPLE
from hypnic.drivers.emulated.lsm6ds_common import EmulatedLSM6DS

_SLOTS = np.arange(WORDS_PER_SAMPLE, dtype=np.int64)
#: DIFF_FIFO's high bits: 2048 words do not fit in the 11 bits, so a full FIFO reads 0.
_DIFF_HI_MASK = (1 << REGS["FIFO_STATUS2"].field("DIFF_FIFO_HI").width) - 1


class EmulatedLSM6DS3TRC(EmulatedLSM6DS):
    spec = SPEC
    regs = REGS
    fifo_words = FIFO_WORDS
    word_columns = 2  # the value, and its slot in the pattern (0 X, 1 Y, 2 Z)
    words_per_sample = WORDS_PER_SAMPLE
    fifo_port = range(REGS.address("FIFO_DATA_OUT_L"), REGS.address("FIFO_DATA_OUT_H") + 1)
    out_register = "OUTX_L_XL"

    def data_dtype(self) -> str:
        return ">i2" if self._flag("CTRL3_C", "BLE") else "<i2"

    # --- the FIFO -----------------------------------------------------------------------------

    def fifo_mode(self) -> Any:
        return self._get("FIFO_CTRL5", "FIFO_MODE")

    def batching(self) -> bool:
        return bool(
            self.fifo_mode() != "bypass"
            and self._get("FIFO_CTRL5", "ODR_FIFO") != 0.0
            and self._get("FIFO_CTRL3", "DEC_FIFO_XL") == 1
        )

    def words_for(self, codes: NDArray[np.int64], first: int) -> NDArray[np.int64]:
        words = np.empty((len(codes) * WORDS_PER_SAMPLE, self.word_columns), dtype=np.int64)
        words[:, 0] = codes.reshape(-1)
        words[:, 1] = np.tile(_SLOTS, len(codes))
        return words

    def serialise(self, words: NDArray[np.int64]) -> NDArray[np.uint8]:
        data = words[:, 0].astype(self.data_dtype()).view(np.uint8)
        return data.reshape(-1, WORD_BYTES)

    def pattern(self) -> int:
        """FIFO_PATTERN: the slot of the next word out (whole samples go in, so an empty FIFO
        starts at X)."""
        return int(self.fifo[self.fifo_head, 1]) if self.fifo_count else 0

    def _threshold_words(self) -> int:
        return int(self._get("FIFO_CTRL1", "FTH")) | (int(self._get("FIFO_CTRL2", "FTH_HI")) << 8)

    def _watermark_reached(self) -> bool:
        fth = self._threshold_words()
        return fth > 0 and self.fifo_count >= fth

    def _full(self) -> bool:
        return self.fifo_count > self.fifo_words - WORDS_PER_SAMPLE

    def status_byte(self, address: int) -> int | None:
        r = self.regs
        if address == r.address("FIFO_STATUS1"):
            return self.fifo_count & 0xFF
        if address == r.address("FIFO_STATUS2"):
            return r.compose(
                "FIFO_STATUS2",
                DIFF_FIFO_HI=(self.fifo_count >> 8) & _DIFF_HI_MASK,
                WATERM=int(self._watermark_reached()),
                OVER_RUN=int(self.overrun),
                FIFO_FULL_SMART=int(self._full()),
                FIFO_EMPTY=int(self.fifo_count == 0),
            )
        if address == r.address("FIFO_STATUS3"):
            return self.pattern() & 0xFF
        if address == r.address("FIFO_STATUS4"):
            return r.compose("FIFO_STATUS4", FIFO_PATTERN_HI=self.pattern() >> 8)
        return None

    def int_active(self) -> bool:
        r = self.regs
        ctrl = self.mem[r.address("INT1_CTRL")]
        asserted = (
            (r.flag("INT1_CTRL", ctrl, "INT1_FTH") and self._watermark_reached())
            or (r.flag("INT1_CTRL", ctrl, "INT1_FIFO_OVR") and self.overrun)
            or (r.flag("INT1_CTRL", ctrl, "INT1_FULL_FLAG") and self._full())
        )
        return self.line_high(asserted)
