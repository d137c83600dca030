"""Every tunable number of the simulated night, with its range and where the range comes from.

Ranges are ``(low, high)`` pairs; a value is drawn uniformly from its range unless the comment
says log-uniform (used for amplitudes and durations that span a decade, where "equally likely
in each decade" is the plausible prior). Counts marked "per 8 h" are for an 8-hour night and
are scaled in proportion to the night's length, so a half-hour test night is not crammed with
a whole night's movements; the ``*_rate_scale`` knobs multiply them (0 switches a kind off).

Sources, loosely:
- sensor: the ADXL345 datasheet (full-resolution LSB 3.9 mg; x/y noise about 0.75 LSB rms at
  100 Hz output rate, i.e. roughly 300-400 ug/sqrt(Hz)); the output-rate error is the project's
  measured allowance for cheap MEMS oscillators (a few percent).
- breathing and heart: textbook adult resting values during sleep (12-20 breaths/min, 50-70
  bpm); respiratory sinus arrhythmia of a few bpm. Awake, breathing is less regular than in
  sleep: breath length and depth vary more from breath to breath, with a sigh every few
  minutes; it grows regular through stage N1 and is steady by stable N2, a few minutes after
  sleep onset (Douglas et al., Thorax 1982; Trinder et al., J Appl Physiol 1992); people at
  rest sigh about a dozen times an hour (Li et al., Nature 2016). How much more irregular
  varies a lot from one person to the next, down to hardly at all, so the ranges start near
  the sleep values.
- ballistocardiogram: bed-based BCG studies report beat responses dominated by 5-10 Hz
  components lasting a few hundred milliseconds, and sub-mg amplitudes under a mattress.
- hypnic jerks (sleep starts, ICSD-3): brief generalised or partial muscle bursts at the
  wake-sleep transition, often several in a row; sporadic myoclonic twitches later in sleep.
- limb movements: AASM scoring rules (duration 0.5-10 s; a periodic series is >= 4 movements
  with onset-to-onset intervals of 5-90 s, typically 20-40 s).
- posture changes: adults change position on the order of 10-20 times a night.
- mattress mechanics (resonance 4-12 Hz, damping ratio 0.15-0.4, tilt changes of a degree
  or so when the load moves, breathing tilt of hundredths of a degree) are engineering
  estimates for a sprung or foam mattress with a sensor under it, chosen so the signals have
  the sizes and timescales seen in published under-mattress recordings. The body on the
  mattress is a mass on a spring: the resonance scales as sqrt(75 kg / mass), so a heavy
  sleeper on a soft mattress rings near 3 Hz and a light one on a firm mattress near 15 Hz;
  everything the body does reaches the sensor through that resonance (``Body``).
- body mass 45-130 kg covers the adult range (WHO / NHANES 5th-95th percentiles are about
  50-120 kg). The heartbeat's push on the bed is roughly the same force whatever the body,
  so its acceleration falls as 1/mass; a heavier body tilts the mattress further on getting in.
- coupling (0.6-1.6x): how well the body's motion reaches the sensor — sensor under the torso
  or under the hips, thin or thick mattress, a topper; an engineering estimate.
- a partner on the other half of a double mattress (70-90 cm away) reaches the sensor at
  3-20 % of the amplitude their own side would, and lower in frequency, since the mattress
  between is a soft low-pass: an engineering estimate (no published figure found).
- room disturbances reach the sensor through the floor and the bed frame. Walking on a
  residential floor gives 1-10 mg at 10-40 Hz on the floor (AISC Design Guide 11, ISO 10137:
  0.5 %g is the comfort limit), of which the mattress passes a fraction: 0.1-2 mg under it.
  A door slam is a single broadband knock of similar size. Road traffic gives building
  vibration of 0.1-1 mm/s at 5-25 Hz (DIN 4150-2 / BS 7385 surveys), i.e. 0.1-3 mg, for
  5-40 s per passing truck. A washing machine spins at 500-1400 rpm (8-23 Hz) for a few
  minutes, ramping up and down; a fan hums at its rotation rate (600-1800 rpm, 10-30 Hz);
  both reach a bed in another room at tenths of a mg (floor vibration surveys, estimates).
- sensor: per-chip noise density and output resolution come from the chips' datasheets (see
  ``scenarios.CHIP_SENSORS``); a unit's noise can be 15 % below to 30 % above the typical
  figure; the ADXL345's z axis is about 1.45x noisier than x and y (datasheet: 1.1 vs 0.75
  LSB rms). A FIFO overrun loses a run of samples: at least a FIFO's worth (32 samples,
  0.15 s at 200 Hz) and up to a few seconds when the host stalls.
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]
IntRange = tuple[int, int]


@dataclass(frozen=True)
class NightParams:
    """Parameters of the simulated night; the defaults describe an ordinary adult sleeper.

    The amplitudes of the sleeper's own signals (movements, breathing, heartbeat) are for a
    coupling of 1 and a 75 kg body; ``body.Body`` scales them for the night's body and bed.
    ``scenarios`` holds the presets that vary all of this widely.
    """

    # --- sensor -------------------------------------------------------------------------
    #: White noise density per axis; rms per axis = density * sqrt(rate / 2) (ADXL345-like:
    #: 300 ug/sqrt(Hz) gives about 3 mg rms at 200 Hz).
    noise_density_ug_rthz: float = 300.0
    #: Quantisation step (ADXL345 full resolution: 3.9 mg); 0 disables quantisation.
    lsb_g: float = 0.0039
    #: Largest relative error of the chip's real output rate against the nominal one.
    rate_error_max: float = 0.02
    #: This unit's noise against the typical density (drawn per night).
    noise_density_scale: Range = (1.0, 1.0)
    #: Noise of the sensor's z axis against x and y.
    noise_z_ratio: float = 1.0
    #: Flicker (1/f) noise per axis, as a share of the white noise's rms: its power falls as
    #: 1/f from 0.02 to 5 Hz. MEMS noise rises below a 1/f corner of a fraction of a hertz to
    #: a few hertz; datasheets give the white density only, so the share is an estimate. Off
    #: in the scenarios (0); ``bench/stress.py`` turns it on.
    flicker_noise_ratio: Range = (0.0, 0.0)

    # --- the body and the mattress ---------------------------------------------------------
    #: False: nobody sleeps in the bed tonight (only the room and the sensor are heard).
    occupied: bool = True
    body_mass_kg: Range = (60.0, 95.0)
    #: Resonance of a 75 kg body on this mattress; the night's is this * sqrt(75 / mass).
    mattress_resonance_hz: Range = (4.0, 12.0)
    #: Damping ratio of that resonance.
    mattress_damping: Range = (0.15, 0.4)
    #: Gain from the body's motion to the sensor; scales every body-borne amplitude below.
    coupling: Range = (1.0, 1.0)  # log-uniform

    # --- the bed and the night's timeline ------------------------------------------------
    #: When an "evening" night's sleeper gets into bed (before it the bed is empty).
    bed_entry_after_start_s: Range = (60.0, 120.0)
    #: Getting in: a large movement lasting several seconds.
    bed_entry_duration_s: Range = (5.0, 12.0)
    bed_entry_peak_g: Range = (0.15, 0.6)  # log-uniform
    #: The load deflects the mattress under the sensor: gravity tilts by a degree or more.
    bed_entry_tilt_deg: Range = (1.0, 4.0)  # log-uniform
    #: Sleep latency after getting into bed (healthy adults: 10-30 min).
    sleep_latency_s: Range = (600.0, 1800.0)
    #: Getting up, this long before the night's end.
    bed_exit_before_end_s: Range = (15.0, 60.0)
    bed_exit_duration_s: Range = (3.0, 8.0)
    bed_exit_peak_g: Range = (0.15, 0.6)  # log-uniform
    #: Tilt of the empty mattress surface under the sensor.
    empty_tilt_deg: Range = (0.0, 2.0)
    #: Posture changes keep the surface tilt within this (a mattress is nearly flat).
    max_tilt_deg: float = 5.0
    #: Least quiet time between any two labelled movements, so detections match labels.
    min_gap_s: float = 3.0
    #: Getting up in the night (out of bed, then back): per 8 h; how long out; how long
    #: to fall asleep again.
    bathroom_trips_per_8h: IntRange = (0, 0)
    bathroom_out_s: Range = (120.0, 600.0)
    resleep_latency_s: Range = (180.0, 900.0)

    # --- breathing ------------------------------------------------------------------------
    #: Rate, varying slowly within this range over tens of minutes.
    breath_rate_bpm: Range = (12.0, 20.0)
    #: Largest slow swing of the rate around its nightly mean, breaths/min.
    breath_rate_swing_bpm: Range = (0.6, 1.8)
    #: Tilt of the surface by the chest's rise and fall (0.02-0.1 deg is 0.35-1.75 mg of
    #: gravity on the horizontal axes). Drawn per posture.
    breath_tilt_deg: Range = (0.02, 0.1)
    #: Vertical acceleration of the surface: a few mm of motion at 0.2-0.33 Hz.
    breath_vertical_g: Range = (0.0003, 0.002)
    #: Breath-to-breath variability: a faster swing of the rate (periods 15-60 s), bpm.
    breath_rate_jitter_bpm: Range = (0.2, 1.0)
    #: Relative slow swing of breathing depth.
    breath_depth_swing: Range = (0.1, 0.3)
    #: 2nd and 3rd harmonic weights: inhaling is quicker than exhaling.
    breath_h2: Range = (0.08, 0.18)
    breath_h3: Range = (0.02, 0.05)
    #: Awake in bed, the rate swings breath to breath by up to this much more (bpm, periods
    #: of 8-40 s) and the depth by this share more (periods of 8-30 s) ...
    wake_breath_rate_jitter_bpm: Range = (0.3, 3.0)
    wake_breath_depth_jitter: Range = (0.0, 0.35)
    #: ... with sighs: single breaths deeper by ``sigh_depth`` (1: twice as deep).
    wake_sighs_per_h: Range = (0.0, 12.0)
    sigh_depth: Range = (0.6, 2.0)
    #: Breathing settles over this long from sleep onset (N1 into N2).
    breathing_settles_s: Range = (60.0, 420.0)
    #: 0: awake breathing is as regular as asleep (as before the above was modelled).
    wake_breathing_scale: float = 1.0

    # --- heartbeat (ballistocardiogram) --------------------------------------------------
    heart_rate_bpm: Range = (50.0, 70.0)
    #: Largest slow swing of heart rate over tens of minutes, bpm.
    heart_rate_swing_bpm: Range = (1.0, 4.0)
    #: Respiratory sinus arrhythmia: heart rate rises on inhaling, bpm.
    heart_rsa_bpm: Range = (0.5, 2.5)
    #: Beat-timing jitter as a fraction of a beat (successive intervals vary ~1.4x this).
    heart_jitter_beats: float = 0.02
    #: Per-beat amplitude jitter (log-normal sigma).
    bcg_amplitude_jitter: float = 0.08
    #: Each beat rings the bed at this frequency, decaying within ~0.3 s.
    bcg_freq_hz: Range = (5.0, 10.0)
    bcg_ring_s: float = 0.3
    #: Peak of one beat at the sensor, drawn per posture.
    bcg_peak_g: Range = (0.0003, 0.001)

    # --- hypnic jerks ---------------------------------------------------------------------
    jerk_rate_scale: float = 1.0
    #: Sleep starts around the wake-sleep transition.
    onset_jerks: IntRange = (2, 6)
    #: ... between these times relative to sleep onset; denser close to the transition.
    onset_jerk_window_s: Range = (-600.0, 180.0)
    #: Isolated myoclonic jerks once asleep (after the onset window).
    sporadic_jerks_per_h: Range = (1.0, 3.0)
    #: A share of the sporadic ones are small: 3-5x the floor (the noise rms, or half the
    #: heartbeat's peak where that is larger, as on a low-noise chip).
    small_jerk_fraction: float = 0.25
    small_jerk_noise_multiple: Range = (3.0, 5.0)
    #: The same for the sleep starts (0: all drawn from jerk_peak_g).
    small_onset_jerk_fraction: float = 0.0
    #: Muscle burst: a half-sine force pulse of this length.
    jerk_pulse_s: Range = (0.05, 0.25)
    #: Each jerk excites the body-mattress resonance, shifted by up to this fraction (where
    #: on the mattress the body is), with the damping shifted by up to -20 %/+25 %.
    jerk_freq_spread: float = 0.15
    #: Damping is raised where needed so the ringing falls to 5 % within this time.
    jerk_ring_max_s: float = 0.7
    jerk_peak_g: Range = (0.015, 0.4)  # log-uniform
    #: Spread of the lateral components of a jerk's direction against the vertical one.
    jerk_lateral: float = 0.35
    #: The sideways part of a jerk rings at this share of the bounce's frequency (drawn per
    #: night): a mattress's shear mode can be softer than its vertical one, which takes the
    #: ring off its line. 1 (the scenarios): the same mode, so a jerk stays on one line.
    jerk_sideways_freq_ratio: Range = (1.0, 1.0)

    # --- limb movements -------------------------------------------------------------------
    limb_rate_scale: float = 1.0
    #: Periodic limb movement series per 8 h, during sleep.
    plm_series_per_8h: IntRange = (1, 3)
    plm_count: IntRange = (4, 30)
    #: Onset-to-onset interval: each series has a typical interval in the inner range,
    #: each interval jitters around it and is kept within the outer one.
    plm_typical_interval_s: Range = (20.0, 35.0)
    plm_interval_jitter: float = 0.12
    plm_interval_s: Range = (15.0, 40.0)
    #: PLM series start this long after sleep onset at the earliest.
    plm_after_onset_s: float = 300.0
    isolated_limb_per_8h: IntRange = (2, 8)
    limb_duration_s: Range = (0.5, 10.0)  # log-uniform
    limb_band_hz: Range = (1.0, 6.0)
    limb_peak_g: Range = (0.004, 0.04)  # log-uniform
    #: A muscle burst starts and stops within a few tenths of a second: the motion rises
    #: from zero to full over this (and falls back over it at the end).
    limb_ramp_s: Range = (0.1, 0.4)
    #: Weight of a limb movement's sideways motion against its vertical (drawn per night).
    #: 1 (the scenarios): it wanders every way; small: the mattress passes mostly the
    #: vertical, so a limb movement stays on one line as a jerk does.
    limb_sideways_weight: Range = (1.0, 1.0)
    #: How far a limb movement leaves the surface tilted (log-uniform): a leg that ends up
    #: elsewhere moves some of the body's weight. 0 (the scenarios): the leg comes back and
    #: the tilt with it; ``bench/stress.py`` turns it on.
    limb_tilt_deg: Range = (0.0, 0.0)

    # --- lying awake before sleep ----------------------------------------------------------
    #: Lying awake in bed, people shift, scratch and settle: small movements every few
    #: minutes, per hour awake in bed (before sleep onset, and before falling asleep again
    #: after getting up in the night). They are what actigraphy scores as wake. Labelled as
    #: limb movements (0.5-10 s, limb-sized); none come in sleep, so none is a PLM.
    wake_fidgets_per_h: Range = (3.0, 15.0)
    wake_fidget_rate_scale: float = 1.0
    #: They stop this long before sleep onset: the still minutes before sleep that
    #: actigraphy's onset rules look for (an engineering estimate).
    wake_still_before_onset_s: Range = (60.0, 420.0)

    # --- posture changes (turning over) ---------------------------------------------------
    posture_rate_scale: float = 1.0
    posture_changes_per_8h: IntRange = (8, 20)
    #: No posture change from this long before sleep onset to this long after it.
    posture_quiet_around_onset_s: Range = (60.0, 300.0)
    posture_duration_s: Range = (3.0, 20.0)
    posture_peak_g: Range = (0.03, 0.3)  # log-uniform
    posture_tilt_deg: Range = (0.3, 3.0)  # log-uniform
    #: Rolling over is slower than a limb movement.
    posture_band_hz: Range = (0.3, 4.0)
    #: Turning over starts with a push; getting in and out of bed is slower to build up.
    posture_ramp_s: Range = (0.3, 1.0)
    bed_ramp_s: Range = (0.5, 1.5)

    # --- a partner on the other side of the bed (disturbances, never events) ---------------
    partner: bool = False
    #: Their movements' amplitude at the sensor against the same movement on this side.
    partner_attenuation: Range = (0.03, 0.2)  # log-uniform
    #: Their breathing and heartbeat, against this sleeper's.
    partner_rhythm_attenuation: Range = (0.05, 0.3)  # log-uniform
    partner_movements_per_h: Range = (2.0, 8.0)
    #: Their weight tilts this side's surface when they get in, and a little when they turn.
    partner_tilt_deg: Range = (0.1, 0.8)  # log-uniform
    partner_turn_tilt_deg: Range = (0.03, 0.3)  # log-uniform

    # --- the room (disturbances, never events) --------------------------------------------
    #: Someone walking past: walks per 8 h, steps per walk, cadence, peak under the mattress,
    #: and the floor-and-frame ring of each footfall.
    footstep_walks_per_8h: IntRange = (0, 0)
    footsteps_per_walk: IntRange = (4, 16)
    footstep_rate_hz: Range = (1.5, 2.2)
    footstep_peak_g: Range = (0.0001, 0.002)  # log-uniform
    floor_ring_hz: Range = (10.0, 40.0)
    #: Door slams per 8 h: one knock through the building.
    door_slams_per_8h: IntRange = (0, 0)
    door_peak_g: Range = (0.0003, 0.005)  # log-uniform
    #: Traffic: passing trucks per hour, each a band-limited rumble.
    traffic_per_h: Range = (0.0, 0.0)
    traffic_peak_g: Range = (0.0001, 0.003)  # log-uniform
    traffic_duration_s: Range = (5.0, 40.0)
    traffic_band_hz: Range = (3.0, 25.0)
    #: A fan running for much of the night, humming at a fixed frequency.
    fan_probability: float = 0.0
    fan_freq_hz: Range = (10.0, 30.0)
    fan_peak_g: Range = (0.00003, 0.0005)  # log-uniform
    #: A washing machine's spin: ramps up to a fixed frequency, holds, ramps down.
    washer_probability: float = 0.0
    washer_spin_hz: Range = (8.0, 23.0)
    washer_spin_s: Range = (180.0, 600.0)
    washer_peak_g: Range = (0.0001, 0.002)  # log-uniform
    #: FIFO overruns per 8 h: a run of samples missing from the recording.
    fifo_gaps_per_8h: IntRange = (0, 0)
    fifo_gap_s: Range = (0.15, 3.0)  # log-uniform
