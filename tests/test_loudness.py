"""Tests for audio_edition.loudness, with ffmpeg's ebur128 filter as the reference meter."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.io import wavfile
from scipy.signal import butter, lfilter

from audio_edition.loudness import (
    CREST_DB,
    LIMITER_BLOCK,
    ClipLoudness,
    _between_block_centres,
    _biquad_pre_filter,
    _biquad_rlb_filter,
    _block_powers,
    _k_weight,
    apply_gain,
    clip_gain,
    gated_level_db,
    integrated_loudness,
    limit_peaks,
    measure_clip,
)

RATE = 22050


# --- signal generators (22,050 Hz mono) -------------------------------------------------


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _to_int16(x: np.ndarray, rms_dbfs: float) -> np.ndarray:
    """Scale to an RMS level (over the whole signal) and quantise to int16."""
    x = x / np.sqrt(np.mean(x**2)) * 10.0 ** (rms_dbfs / 20.0)
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


def pink_noise(n: int, seed: int = 1) -> np.ndarray:
    # Paul Kellet's economy 1/f filter: close enough to pink for a loudness test.
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return lfilter(b, a, _rng(seed).standard_normal(n))


def pink_bursts(seconds: float, seed: int = 1) -> np.ndarray:
    """Pink noise switched on and off in bursts of 0.3-2 s (with 50 ms ramps)."""
    n = int(seconds * RATE)
    rng = _rng(seed)
    gate = np.zeros(n)
    pos = int(0.2 * RATE)
    while pos < n:
        length = int(rng.uniform(0.3, 2.0) * RATE)
        ramp = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / 1102)
        gate[pos : pos + length] = ramp[: n - pos]
        pos += length + int(rng.uniform(0.2, 0.8) * RATE)
    return pink_noise(n, seed) * gate * rng.uniform(0.5, 1.0)


def sine(freq: float, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * freq * t)


def speech_like(seconds: float, seed: int = 2) -> np.ndarray:
    """Syllable-rate AM of a voiced buzz plus band-passed noise, with pauses between words."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    rng = _rng(seed)
    syllables = np.maximum(0.0, np.sin(2 * np.pi * 4.0 * t)) ** 2
    pauses = np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, np.pi)) > -0.5
    b, a = butter(4, [200, 4000], btype="band", fs=RATE)
    noise = lfilter(b, a, rng.standard_normal(n))
    phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * 0.5 * t)) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 60))
    return syllables * pauses * (voiced + 0.5 * noise)


# --- ffmpeg reference -------------------------------------------------------------------


def ffmpeg_ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBFS) from the Summary of ffmpeg's ebur128 filter."""
    cmd = ["ffmpeg", "-nostats", "-hide_banner", "-i", str(path)]
    cmd += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    summary = out[out.rindex("Summary:") :]
    lufs = re.search(r"I:\s+(\S+) LUFS", summary)
    peak = re.search(r"Peak:\s+(\S+) dBFS", summary)
    assert lufs and peak, summary
    return float(lufs.group(1)), float(peak.group(1))


def measure_with_ffmpeg(
    samples: np.ndarray, tmp_path: Path, name: str = "f"
) -> tuple[float, float]:
    path = tmp_path / f"{name}.wav"
    wavfile.write(path, RATE, samples)
    return ffmpeg_ebur128(path)


def join_with_silence(clips: list[np.ndarray], gap_s: float) -> np.ndarray:
    gap = np.zeros(int(gap_s * RATE), dtype=np.int16)
    return np.concatenate([part for clip in clips for part in (gap, clip)] + [gap])


# --- K-weighting ------------------------------------------------------------------------


def test_k_weighting_derivation_reproduces_the_published_48k_coefficients() -> None:
    b1, a1 = _biquad_pre_filter(48000)
    b2, a2 = _biquad_rlb_filter(48000)
    np.testing.assert_allclose(b1, [1.53512485958697, -2.69169618940638, 1.19839281085285])
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585])
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621])


def test_k_weighting_is_designed_for_22050_not_copied_from_48k() -> None:
    assert not np.allclose(_biquad_pre_filter(RATE)[1], _biquad_pre_filter(48000)[1])


def test_k_weighting_in_blocks_equals_the_two_biquads_run_sample_by_sample() -> None:
    # Speech-like int16 levels, several FFT blocks and a partial one.
    x = np.clip(np.rint(_rng(3).standard_normal(40_000) * 4000), -32768, 32767) / 32768
    expected = lfilter(*_biquad_rlb_filter(RATE), lfilter(*_biquad_pre_filter(RATE), x))
    weighted = _k_weight(x, RATE)
    np.testing.assert_allclose(weighted, expected, atol=1e-6)  # float32's precision
    # What is kept, the 400 ms block powers, agrees far inside the sidecar's 6 digits.
    np.testing.assert_allclose(
        _block_powers(weighted, RATE), _block_powers(expected, RATE), rtol=1e-7
    )


def test_full_scale_1khz_sine_reads_minus_3_lufs() -> None:
    # BS.1770's calibration: a 0 dBFS 997 Hz sine reads -3.01 LUFS; 1 kHz is within 0.02.
    stats = measure_clip(sine(1000, 5, 0.25))
    assert integrated_loudness([(stats, 0.0)]) == pytest.approx(-3.01 - 12.04, abs=0.05)
    assert stats.true_peak_db == pytest.approx(-12.04, abs=0.05)


# --- blocks, silence, short clips -------------------------------------------------------


def test_blocks_are_400ms_with_100ms_hop_fully_inside_the_clip() -> None:
    assert len(measure_clip(np.ones(RATE, dtype=np.int16)).block_powers) == 7  # 0.0-0.6 s
    assert len(measure_clip(np.ones(int(0.45 * RATE), dtype=np.int16)).block_powers) == 1


def test_clip_shorter_than_400ms_has_one_block_over_the_whole_clip() -> None:
    stats = measure_clip(sine(1000, 0.3, 0.5))
    assert len(stats.block_powers) == 1
    assert integrated_loudness([(stats, 0.0)]) == pytest.approx(-3.01 - 6.02, abs=0.3)


def test_digital_silence() -> None:
    stats = measure_clip(np.zeros(RATE, dtype=np.int16))
    assert stats.true_peak_db == -120.0
    assert integrated_loudness([(stats, 0.0)]) == -math.inf
    assert clip_gain(stats) == 0.0
    assert measure_clip(np.zeros(0, dtype=np.int16)) == ClipLoudness((), -120.0)


def test_rejects_stereo_and_odd_dtypes() -> None:
    with pytest.raises(ValueError):
        measure_clip(np.zeros((100, 2), dtype=np.int16))
    with pytest.raises(TypeError):
        measure_clip(np.zeros(100, dtype=np.int32))


@settings(max_examples=30, deadline=None)
@given(gain=st.floats(-10, 20), scale=st.floats(0.01, 0.5))
def test_uniform_gain_shifts_loudness_by_the_gain(gain: float, scale: float) -> None:
    stats = ClipLoudness(tuple(scale * p for p in (1e-3, 2e-3, 5e-4, 3e-3)), -10.0)
    before = integrated_loudness([(stats, 0.0), (stats, 0.0)])
    after = integrated_loudness([(stats, gain), (stats, gain)])
    assert after == pytest.approx(before + gain, abs=1e-9)


def test_relative_gate_drops_quiet_blocks() -> None:
    loud = ClipLoudness((1e-2,) * 10, -5.0)
    quiet = ClipLoudness((1e-5,) * 10, -30.0)  # 30 dB down: below the -10 LU relative gate
    assert integrated_loudness([(loud, 0.0), (quiet, 0.0)]) == pytest.approx(
        integrated_loudness([(loud, 0.0)])
    )


# --- agreement with ffmpeg --------------------------------------------------------------


SIGNALS = {
    "pink_bursts": lambda: _to_int16(pink_bursts(15, seed=1), -24),
    "sine_1k_-18dBFS": lambda: _to_int16(sine(1000, 5, 1.0), -18 - 3.01),
    "sine_1k_-40dBFS": lambda: _to_int16(sine(1000, 5, 1.0), -40 - 3.01),
    "speech_like": lambda: _to_int16(speech_like(20, seed=2), -22),
    "speech_like_hot": lambda: _to_int16(speech_like(8, seed=3), -12),
    "short_speech_like": lambda: _to_int16(speech_like(1.3, seed=4), -20),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_single_clip_matches_ffmpeg(name: str, tmp_path: Path) -> None:
    samples = SIGNALS[name]()
    stats = measure_clip(samples, RATE)
    ff_lufs, ff_peak = measure_with_ffmpeg(samples, tmp_path)
    assert integrated_loudness([(stats, 0.0)]) == pytest.approx(ff_lufs, abs=0.3)
    assert stats.true_peak_db == pytest.approx(ff_peak, abs=0.5)


def split_into_clips(samples: np.ndarray, seconds: list[float]) -> list[np.ndarray]:
    cuts = np.cumsum([int(s * RATE) for s in seconds])[:-1]
    return np.split(samples, cuts)


@pytest.mark.integration
@pytest.mark.parametrize("gap_s", [0.0, 0.25, 0.8])
def test_combined_clip_stats_match_ffmpeg_on_the_concatenation(
    gap_s: float, tmp_path: Path
) -> None:
    whole = _to_int16(speech_like(30, seed=5), -21)
    clips = split_into_clips(whole, [4.0, 0.9, 6.3, 2.2, 0.35, 7.1, 3.0, 6.15])
    combined = integrated_loudness((measure_clip(c), 0.0) for c in clips)
    ff_lufs, _ = measure_with_ffmpeg(join_with_silence(clips, gap_s), tmp_path)
    assert combined == pytest.approx(ff_lufs, abs=0.5)


def varied_clips() -> list[np.ndarray]:
    """Sentence-like clips at different levels; two quiet ones carry a click to be capped."""
    levels = [-26, -24, -30, -25, -27, -28, -23, -25]
    clips = [
        _to_int16(speech_like(2.0 + (i % 4) * 1.1, seed=10 + i), level)
        for i, level in enumerate(levels)
    ]
    for i in (2, 5):
        clips[i][RATE // 2] = 20000  # a near full-scale spike, as a pop in synthesis would be
    return clips


@pytest.mark.integration
def test_clip_gains_bring_an_edition_to_target_under_the_peak_ceiling(tmp_path: Path) -> None:
    clips = [limit_peaks(c) for c in varied_clips()]
    gains = [clip_gain(measure_clip(c), target_lufs=-19.0, ceiling_dbtp=-2.0) for c in clips]
    gained = [apply_gain(c, g) for c, g in zip(clips, gains, strict=True)]
    ff_lufs, ff_peak = measure_with_ffmpeg(join_with_silence(gained, 0.5), tmp_path, "edition")
    assert ff_lufs == pytest.approx(-19.0, abs=1.0)
    assert ff_peak <= -2.0 + 0.3


def test_a_peaky_clip_is_capped_by_the_ceiling_in_0_1_db_steps() -> None:
    quiet_peaky = ClipLoudness((1e-4,) * 20, -4.33)
    assert clip_gain(quiet_peaky, target_lufs=-19.0, ceiling_dbtp=-2.0) == 2.3
    normal = ClipLoudness((10 ** ((-23.0 + 0.691) / 10),) * 30, -10.0)  # exactly -23 LUFS
    assert clip_gain(normal, target_lufs=-19.0, ceiling_dbtp=-2.0) == 4.0


def test_a_quieter_clip_gets_that_much_more_gain() -> None:
    loud = _to_int16(speech_like(2.5, seed=1), -24)
    quiet = apply_gain(loud, -6.0)
    gain_loud = clip_gain(measure_clip(loud), ceiling_dbtp=20.0)
    gain_quiet = clip_gain(measure_clip(quiet), ceiling_dbtp=20.0)
    assert gain_quiet - gain_loud == pytest.approx(6.0, abs=0.15)


def test_limiter_holds_peaks_to_the_crest_above_loudness() -> None:
    clip = _to_int16(speech_like(3.0, seed=5), -24)
    limited = limit_peaks(clip)
    level = gated_level_db(clip)
    assert np.max(np.abs(limited.astype(np.int32))) <= 32768 * 10 ** ((level + CREST_DB) / 20) + 1
    assert len(limited) == len(clip)


# --- JSON sidecar -----------------------------------------------------------------------


def test_json_round_trip_is_exact_and_compact() -> None:
    stats = measure_clip(_to_int16(speech_like(3.0, seed=7), -20))
    text = json.dumps(stats.to_json())
    back = ClipLoudness.from_json(json.loads(text))
    assert back == stats
    assert back.to_json() == stats.to_json()
    assert all(float(f"{p:.6g}") == p for p in json.loads(text)["block_powers"])


def test_json_round_trip_of_silence_and_short_clip() -> None:
    for stats in (measure_clip(np.zeros(500, dtype=np.int16)), measure_clip(sine(440, 0.1, 0.3))):
        assert ClipLoudness.from_json(json.loads(json.dumps(stats.to_json()))) == stats


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"block_powers": [1e-3]},
        {"block_powers": "x", "true_peak_db": -3.0},
        {"block_powers": [-1.0], "true_peak_db": -3.0},
        {"block_powers": [], "true_peak_db": None},
    ],
)
def test_from_json_rejects_malformed_sidecars(bad: dict) -> None:
    with pytest.raises(ValueError):
        ClipLoudness.from_json(bad)


# --- apply_gain -------------------------------------------------------------------------


def test_apply_gain_rounds_and_clips() -> None:
    x = np.array([0, 1000, -1000, 20000, -20000, 32767, -32768], dtype=np.int16)
    out = apply_gain(x, 6.0)
    assert out.dtype == np.int16
    assert list(out[:3]) == [0, 1995, -1995]
    assert list(out[3:]) == [32767, -32768, 32767, -32768]
    assert list(apply_gain(x, 0.0)) == list(x)


def test_apply_gain_requires_int16() -> None:
    with pytest.raises(TypeError):
        apply_gain(np.zeros(10), 1.0)


@pytest.mark.parametrize("n", [1, 10, 11, 21, 22, 1000, 147_013])
def test_the_limiter_eases_its_gain_between_block_centres_as_np_interp_would(n) -> None:
    blocks = -(-n // LIMITER_BLOCK)
    values = _rng(n).random(blocks).astype(np.float32)
    centres = np.arange(blocks) * LIMITER_BLOCK + LIMITER_BLOCK // 2
    expected = np.interp(np.arange(n), centres, values)
    np.testing.assert_allclose(
        _between_block_centres(values, LIMITER_BLOCK, n), expected, atol=1e-6
    )
