"""Every chip driver against its register-level emulator, through the real acquisition loop.

Parametrised over hypnic.drivers.chips.CHIPS, so a new chip is held to all of it. Time is a
VirtualClock: an hour of signal runs in seconds and every run is the same.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from hypnic.drivers.base import Block
from hypnic.drivers.bus import Device
from hypnic.drivers.chips import CHIPS
from hypnic.drivers.emulated.rig import Rig, build_rig
from hypnic.drivers.probe import probe
from hypnic.drivers.timebase import VirtualClock

KEYS = list(CHIPS)


def wave(range_g: float):
    """Known acceleration per sample index, reaching 80 % of the range on X and Y."""

    def source(first: int, n: int) -> np.ndarray:
        k = np.arange(first, first + n, dtype=np.float64)
        return np.stack(
            [0.8 * range_g * np.sin(k / 37.0), -0.8 * range_g * np.cos(k / 53.0),
             0.9 + 0.05 * np.sin(k / 11.0)],
            axis=1,
        )

    return source


_streams: dict[int, Iterator[Block]] = {}


def stream(rig: Rig) -> Iterator[Block]:
    """The rig's one running stream, as the daemon would hold it."""
    return _streams.setdefault(id(rig.sensor), rig.sensor.blocks())


def take(rig: Rig, seconds: float) -> list[Block]:
    """Blocks until ``seconds`` of signal have been read."""
    blocks = []
    start = None
    for block in stream(rig):
        if not len(block):
            continue  # a heartbeat while the sensor is being reconnected
        blocks.append(block)
        start = block.t_s[0] if start is None else start
        if block.t_s[-1] - start >= seconds:
            break
    return blocks


def next_data(gen: Iterator[Block]) -> Block:
    """The next block with samples in it, past any heartbeats."""
    return next(b for b in gen if len(b))


def joined(blocks: list[Block]) -> tuple[np.ndarray, np.ndarray]:
    return (np.concatenate([b.t_s for b in blocks]), np.concatenate([b.acc_g for b in blocks]))


def rates_and_ranges() -> Iterator[tuple[str, float, int]]:
    """Every rate each chip supports (the ones a person asks for, 100/200/400 Hz, land on
    the nearest of them), at every range."""
    for key in KEYS:
        spec = CHIPS[key].spec
        for rate in sorted({*spec.rates_hz, 100.0, 200.0, 400.0}):
            for range_g in spec.ranges_g:
                yield key, rate, range_g


@pytest.mark.parametrize(("key", "rate_hz", "range_g"), list(rates_and_ranges()))
def test_decoded_values_match_what_was_fed_within_one_lsb(key: str, rate_hz: float,
                                                          range_g: int) -> None:
    source = wave(range_g)
    rig = build_rig(key, VirtualClock(), source, rate_hz=rate_hz, range_g=range_g)
    assert rig.driver.range_g == range_g
    assert rig.driver.rate_hz == CHIPS[key].spec.nearest_rate_hz(rate_hz)
    _, acc = joined(take(rig, 2.0))
    expected = source(0, len(acc))
    assert np.abs(acc - expected).max() <= rig.driver.lsb_g * 1.0001


@pytest.mark.parametrize("key", KEYS)
def test_fifo_is_read_in_bursts(key: str) -> None:
    rig = build_rig(key, VirtualClock())
    blocks = take(rig, 10.0)
    samples = sum(len(b) for b in blocks)
    # A FIFO read moves many samples per I2C transfer, not one register at a time.
    assert rig.driver.device.bytes_read / rig.driver.device.transfers > 12
    assert samples / len(blocks) >= rig.driver.watermark * 0.8


@pytest.mark.parametrize("key", KEYS)
def test_watermark_interrupt_wakes_the_driver(key: str) -> None:
    factory = MockFactory()
    rig = build_rig(key, VirtualClock(), int_pin=17, pin_factory=factory)
    blocks = take(rig, 10.0)
    waiter = rig.sensor.waiter
    assert waiter.edges_seen >= len(blocks) * 0.9
    # Woken at the watermark: each read finds about a watermark's worth, never an overrun.
    sizes = np.array([len(b) for b in blocks])
    assert np.median(sizes) == pytest.approx(rig.driver.watermark, abs=2)
    assert rig.sensor.lost_samples == 0


@pytest.mark.parametrize("key", KEYS)
def test_polling_fallback_loses_nothing(key: str) -> None:
    rig = build_rig(key, VirtualClock())
    t, _ = joined(take(rig, 30.0))
    assert rig.sensor.lost_samples == 0
    assert len(t) == pytest.approx(30.0 * rig.driver.rate_hz, rel=0.02)
    assert np.all(np.diff(t) > 0)


@pytest.mark.parametrize("key", KEYS)
def test_overrun_is_counted_and_marked_as_a_gap(key: str) -> None:
    rig = build_rig(key, VirtualClock())
    blocks = take(rig, 5.0)
    dropped_before = rig.chip.samples_dropped
    fifo_s = rig.driver.spec.fifo_capacity / rig.driver.rate_hz
    rig.clock.sleep(2.0 * fifo_s + 1.0)  # the host stalls for longer than the FIFO holds
    after = take(rig, 5.0)
    first = after[0]
    assert first.gap_before[0]
    # The driver's estimate of what was lost matches what the chip really dropped.
    dropped = rig.chip.samples_dropped - dropped_before
    assert dropped > 0
    # (within 1 %: a FIFO of tagged words also drops the odd timestamp word)
    assert first.lost_samples == pytest.approx(dropped, rel=0.01, abs=2)
    # Time stays true across the gap: stamps continue from where the chip really is.
    gap_s = first.t_s[0] - blocks[-1].t_s[-1]
    assert gap_s == pytest.approx((first.lost_samples + 1) / rig.driver.rate_hz, rel=0.02)
    assert not any(b.gap_before.any() for b in after[1:])


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("fault", ["nack", "eio", "timeout"])
def test_transient_bus_faults_are_retried(key: str, fault: str) -> None:
    rig = build_rig(key, VirtualClock())
    take(rig, 2.0)
    rig.bus.inject(rig.chip.address, fault, transfers=3)
    after = take(rig, 5.0)
    assert rig.sensor.i2c_errors >= 1 and rig.sensor.state == "streaming"
    assert after[0].gap_before[0]


@pytest.mark.parametrize("key", KEYS)
def test_unplugged_sensor_resumes_within_5_s_of_coming_back(key: str) -> None:
    rig = build_rig(key, VirtualClock())
    take(rig, 2.0)
    rig.bus.inject(rig.chip.address, "unplugged", transfers=None)
    states = []
    gen = stream(rig)
    rig.sensor._status = states.append
    # Let it fail for a while: it keeps retrying, never raises.
    deadline = rig.clock.monotonic() + 20.0
    while rig.clock.monotonic() < deadline:
        rig.clock.sleep(0.5)
    rig.chip.power_on_reset()  # plugged back in: a fresh chip with power-on registers
    rig.bus.clear(rig.chip.address)
    back_at = rig.clock.monotonic()
    block = next_data(gen)
    assert block.gap_before[0]
    assert block.t_s[0] - back_at < 5.0


@pytest.mark.parametrize("key", KEYS)
def test_chip_reset_to_defaults_is_noticed_and_reconfigured(key: str) -> None:
    rig = build_rig(key, VirtualClock())
    take(rig, 2.0)
    rig.bus.inject(rig.chip.address, "reset")
    before = rig.clock.monotonic()
    after = take(rig, 3.0)
    assert after[0].gap_before[0]
    assert after[0].t_s[0] - before < 5.0
    assert rig.driver.is_configured()


@pytest.mark.parametrize("key", KEYS)
def test_wrong_identity_is_refused_until_the_right_chip_answers(key: str) -> None:
    rig = build_rig(key, VirtualClock())
    rig.bus.inject(rig.chip.address, "wrong_id")
    gen = stream(rig)
    states: list[str] = []
    rig.sensor._status = states.append
    rig.clock.sleep(0.0)
    # No block can come while the identity is wrong; fix it after a few seconds of retries.
    rig.clock.on_advance(lambda now: rig.chip.power_on_reset() if now > 5.0 and
                         rig.chip.mem[rig.chip.spec.id_register] == 0 else None)
    block = next_data(gen)
    assert block.t_s[0] > 5.0
    assert any(s.startswith("sensor lost") for s in states)


@pytest.mark.parametrize("key", KEYS)
def test_auto_detection_finds_the_chip_at_either_address(key: str) -> None:
    spec = CHIPS[key].spec
    for address in spec.addresses:
        rig = build_rig(key, VirtualClock(), address=address)
        found = probe(rig.bus)
        assert [(f.key, f.address) for f in found] == [(key, address)]


def test_auto_detection_tells_chips_apart_on_one_bus() -> None:
    clock = VirtualClock()
    rigs = [build_rig(key, clock, address=CHIPS[key].spec.addresses[-1]) for key in KEYS]
    bus = rigs[0].bus
    for rig in rigs[1:]:
        if rig.chip.address not in bus.chips:
            bus.attach(rig.chip)
    on_bus = {(r.driver.spec.key, r.chip.address) for r in rigs if bus.chips[r.chip.address] is r.chip}
    assert {(f.key, f.address) for f in probe(bus)} == on_bus


@pytest.mark.parametrize("key", KEYS)
def test_self_test_passes_on_a_good_chip_and_fails_on_a_broken_one(key: str) -> None:
    rig = build_rig(key, VirtualClock())
    result = rig.driver.self_test()
    assert result.passed, result.describe()
    rig.chip.self_test_broken = True
    result = rig.driver.self_test()
    assert not result.passed
    assert "FAIL" in result.describe()
    # The driver can stream again afterwards.
    assert take(rig, 2.0)


@pytest.mark.parametrize("key", KEYS)
def test_an_hour_on_a_chip_3_percent_fast_is_stamped_within_50_ms(key: str) -> None:
    rig = build_rig(key, VirtualClock(), rate_error=0.03)
    n = 0
    last = None
    for block in stream(rig):
        if not len(block):
            continue
        n += len(block)
        last = block
        if block.t_s[-1] >= 3600.0:
            break
    assert last is not None and rig.sensor.lost_samples == 0
    true_t = (n - 1) / rig.chip.true_rate_hz  # the chip's n-th sample, on the same clock
    assert abs(last.t_s[-1] - true_t) < 0.05
    assert rig.sensor.sample_clock.rate_hz == pytest.approx(rig.chip.true_rate_hz, rel=1e-4)


def test_burst_reads_use_one_combined_transfer(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = build_rig("adxl345", VirtualClock())
    calls: list[int] = []
    real = rig.bus.i2c_rdwr
    monkeypatch.setattr(rig.bus, "i2c_rdwr", lambda *m: (calls.append(len(m)), real(*m))[1])
    Device(rig.bus, rig.chip.address).read_burst(0x32, 40)
    assert calls == [2]  # address write + 40-byte read, past the 32-byte SMBus limit


@pytest.mark.parametrize("key", KEYS)
def test_slow_transfers_cause_overruns_that_are_counted(key: str) -> None:
    rig = build_rig(key, VirtualClock())
    take(rig, 2.0)
    # Each transfer now takes long enough for the FIFO to overflow between reads.
    fifo_s = rig.driver.spec.fifo_capacity / rig.driver.rate_hz
    rig.bus.slow_s = fifo_s
    after = take(rig, 20.0)
    rig.bus.slow_s = 0.0
    assert rig.sensor.overruns > 0 and rig.sensor.lost_samples > 0
    assert any(b.gap_before[0] for b in after)
    assert all(np.all(np.diff(b.t_s) > 0) for b in after)


def test_a_night_of_interrupts_does_not_grow_the_mock_pins_history() -> None:
    # Found by the daemon's memory bench: gpiozero's MockPin keeps every edge, which grew
    # the simulated daemon by 60 MiB over 8 hours.
    factory = MockFactory()
    rig = build_rig("adxl345", VirtualClock(), int_pin=17, pin_factory=factory)
    take(rig, 600.0)
    assert rig.sensor.waiter.edges_seen > 1000
    assert len(factory.pin(17).states) <= 256 + 1


def test_the_stream_keeps_beating_while_the_sensor_is_lost() -> None:
    # During an outage the loop above must still get control back (to see SIGTERM and to
    # ping the watchdog): the stream yields empty blocks while it retries.
    rig = build_rig("adxl345", VirtualClock())
    take(rig, 1.0)
    rig.bus.inject(rig.chip.address, "unplugged", transfers=None)
    empties = 0
    for block in stream(rig):
        assert len(block) == 0
        empties += 1
        if rig.clock.monotonic() > 30.0:
            break
    assert empties >= 20
