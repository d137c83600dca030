"""Register-level LSM6DSO emulator (``shared/reference/sensors.md`` §5.4, §5.8, §5.9).

Besides what ``lsm6ds_common`` models: a FIFO of 512 tagged 7-byte words (tag byte
TAG_SENSOR << 3 | TAG_CNT << 1, then X, Y, Z little-endian int16); accelerometer words enter it
only while FIFO_CTRL3.BDR_XL ≠ 0 and FIFO_MODE is not bypass; continuous mode overwrites the
oldest word, FIFO mode stops when full; a burst from FIFO_DATA_OUT_TAG (0x78) serves
successive words, each popped when its 7th byte is read; FIFO_STATUS1/2 give DIFF_FIFO
(10 bits), FIFO_WTM_IA (DIFF_FIFO ≥ WTM), FIFO_OVR_IA (clears when a word is read),
FIFO_FULL_IA and OVER_RUN_LATCHED (cleared by reading FIFO_STATUS2) [?: clearing rules not in
our sources]; INT1 from INT1_FIFO_TH / INT1_FIFO_OVR / INT1_FIFO_FULL.

Words that are not accelerometer data: with FIFO_CTRL4.ODR_TS_BATCH ≠ 0 a timestamp word
follows every 1st, 8th or 32nd accelerometer word (the real chip also wants CTRL10_C
TIMESTAMP_EN, not modelled [?]); ``stray_every`` adds one after every that many samples
whatever the registers say. And, unlike the real chip (which writes one only with
FIFO_CTRL2.ODR_CHG_EN, which the driver leaves off), a configuration-change word comes before
the first sample after any write to CTRL1_XL, FIFO_CTRL3 or FIFO_CTRL4 and after a reset, so
every run proves the driver checks the tags. Their contents are not the chip's: full-scale
values, which would show if taken for acceleration.

Not modelled: compression, the gyroscope and temperature words, TAG_PARITY (always 0 [?]),
INTERNAL_FREQ_FINE (reads 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.chips.lsm6dso import REGS, SPEC, WORD_BYTES
from hypnic.drivers.emulated.lsm6ds_common import EmulatedLSM6DS

_TAG = REGS["FIFO_DATA_OUT_TAG"]
_STRAY_DATA = (32767, -32768, 32767)


def tag_byte(sensor: str, counter: NDArray[np.int64] | int = 0) -> NDArray[np.int64]:
    """FIFO_DATA_OUT_TAG for words of ``sensor`` with TAG_CNT ``counter`` (mod 4)."""
    sensor_bits = REGS.compose("FIFO_DATA_OUT_TAG", TAG_SENSOR=sensor)
    cnt = _TAG.field("TAG_CNT")
    return np.asarray(sensor_bits | ((np.asarray(counter) % 4) << cnt.shift), dtype=np.int64)


class EmulatedLSM6DSO(EmulatedLSM6DS):
    spec = SPEC
    regs = REGS
    fifo_words = 512
    word_columns = 4  # tag byte, X, Y, Z
    words_per_sample = 1
    fifo_port = range(REGS.address("FIFO_DATA_OUT_TAG"), REGS.address("FIFO_DATA_OUT_Z_H") + 1)
    out_register = "OUTX_L_A"
    #: A timestamp word after every this many samples regardless of ODR_TS_BATCH (tests).
    stray_every: int | None = None

    def power_on_reset(self) -> None:
        self.config_word_due = True
        super().power_on_reset()

    # --- the FIFO -----------------------------------------------------------------------------

    def fifo_mode(self) -> Any:
        return self._get("FIFO_CTRL4", "FIFO_MODE")

    def batching(self) -> bool:
        return bool(self.fifo_mode() != "bypass" and self._get("FIFO_CTRL3", "BDR_XL") != 0.0)

    def words_for(self, codes: NDArray[np.int64], first: int) -> NDArray[np.int64]:
        n = len(codes)
        index = first + np.arange(n)
        accel = np.empty((n, self.word_columns), dtype=np.int64)
        accel[:, 0] = tag_byte("accel", index)
        accel[:, 1:] = codes
        stray = np.zeros(n, dtype=bool)
        for every in (self.stray_every, self._timestamp_every()):
            if every:
                stray |= (index + 1) % every == 0
        lead = int(self.config_word_due and n > 0)
        if not lead and not stray.any():
            return accel  # the usual case: nothing but samples
        self.config_word_due = False
        # Each sample moves down by the extra words written before it.
        before = np.concatenate(([0], np.cumsum(stray)[:-1]))
        at = lead + np.arange(n) + before
        words = np.empty((lead + n + int(stray.sum()), self.word_columns), dtype=np.int64)
        words[at] = accel
        extra = at[stray] + 1
        words[extra, 0] = tag_byte("timestamp", index[stray])
        words[extra, 1:] = _STRAY_DATA
        if lead:
            words[0, 0] = tag_byte("config_change", first)
            words[0, 1:] = _STRAY_DATA
        return words

    def _timestamp_every(self) -> int | None:
        every = self._get("FIFO_CTRL4", "ODR_TS_BATCH")
        return every if isinstance(every, int) and every > 0 else None

    def serialise(self, words: NDArray[np.int64]) -> NDArray[np.uint8]:
        out = np.empty((len(words), WORD_BYTES), dtype=np.uint8)
        out[:, 0] = words[:, 0]
        out[:, 1:] = words[:, 1:].astype("<i2").view(np.uint8).reshape(-1, WORD_BYTES - 1)
        return out

    def _watermark_words(self) -> int:
        return int(self._get("FIFO_CTRL1", "WTM")) | (int(self._get("FIFO_CTRL2", "WTM8")) << 8)

    def _full(self) -> bool:
        # "Full at the next batch" [?]: one word of room left, or none.
        return self.fifo_count >= self.fifo_words - 1

    def _watermark_reached(self) -> bool:
        wtm = self._watermark_words()
        return wtm > 0 and self.fifo_count >= wtm

    def status_byte(self, address: int) -> int | None:
        r = self.regs
        if address == r.address("FIFO_STATUS1"):
            return self.fifo_count & 0xFF
        if address == r.address("FIFO_STATUS2"):
            value = r.compose(
                "FIFO_STATUS2",
                DIFF_FIFO_HI=self.fifo_count >> 8,
                FIFO_WTM_IA=int(self._watermark_reached()),
                FIFO_OVR_IA=int(self.overrun),
                FIFO_FULL_IA=int(self._full()),
                OVER_RUN_LATCHED=int(self.overrun_latched),
            )
            self.overrun_latched = False
            return value
        return None

    def wrote(self, register: str) -> None:
        super().wrote(register)
        if register in ("CTRL1_XL", "FIFO_CTRL3", "FIFO_CTRL4"):
            self.config_word_due = True

    def int_active(self) -> bool:
        r = self.regs
        ctrl = self.mem[r.address("INT1_CTRL")]
        asserted = (
            (r.flag("INT1_CTRL", ctrl, "INT_FIFO_TH") and self._watermark_reached())
            or (r.flag("INT1_CTRL", ctrl, "INT_FIFO_OVR") and self.overrun)
            or (r.flag("INT1_CTRL", ctrl, "INT_FIFO_FULL") and self._full())
        )
        return self.line_high(asserted)

