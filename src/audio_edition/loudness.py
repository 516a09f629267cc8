"""Loudness of an edition computed from per-clip statistics (ITU-R BS.1770-4 / EBU R128).

Each sentence clip is measured once (K-weighted 400 ms gating-block powers and true peak)
and the stats are cached next to the clip.  Because BS.1770 integrated loudness depends only
on the multiset of gating-block powers, the edition's loudness can be recomputed from the
cached blocks, with any gain applied per clip, without decoding the whole book again.

The reference meter is ffmpeg's ``ebur128=peak=true`` filter; ffmpeg 5.1 runs it at the
input's own sample rate with the same K-weighting derivation used here, so a 22,050 Hz clip
is weighted the same way by both (its true peak is read after resampling to 192 kHz).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_RATE = 22050
# BS.1770 constants: mono loudness = -0.691 + 10*log10(mean K-weighted power).
LOUDNESS_OFFSET = -0.691
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
# 4x oversampling as in BS.1770-4 Annex 2; at 22,050 Hz this reads at most a few
# hundredths of a dB below ffmpeg (which resamples to 192 kHz) on band-limited material.
TRUE_PEAK_OVERSAMPLE = 4
SILENCE_DBTP = -120.0  # stands in for -inf so the JSON sidecar stays valid JSON
CLIP_GAIN_STEP_DB = 0.1
# How far below target a capped edition may fall before we warn.
CAPPING_WARN_LU = 0.5


@dataclass(frozen=True)
class ClipLoudness:
    """Loudness statistics of one clip, enough to combine clips into an edition.

    ``block_powers`` are the mean squares of the K-weighted signal over each 400 ms gating
    block (100 ms hop) lying fully inside the clip; a clip shorter than 400 ms has one block
    over the whole clip.  ``true_peak_db`` is in dBTP, ``-120.0`` for digital silence.
    Values are kept rounded as in the JSON sidecar, so a freshly measured clip and one
    reloaded from the cache are equal and give bit-identical edition gains.
    """

    block_powers: tuple[float, ...]
    true_peak_db: float

    def to_json(self) -> dict:
        """A compact JSON-serialisable dict (powers to 6 significant digits)."""
        return {
            "block_powers": [_round_sig(p) for p in self.block_powers],
            "true_peak_db": _round_db(self.true_peak_db),
        }

    @classmethod
    def from_json(cls, d: dict) -> ClipLoudness:
        """Rebuild stats from :meth:`to_json` output; ValueError if the sidecar is malformed."""
        try:
            powers = tuple(_round_sig(float(p)) for p in d["block_powers"])
            peak = _round_db(float(d["true_peak_db"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed loudness stats: {exc!r}") from exc
        if not all(math.isfinite(p) and p >= 0.0 for p in powers) or not math.isfinite(peak):
            raise ValueError("malformed loudness stats: non-finite or negative value")
        return cls(powers, peak)


def _round_sig(x: float) -> float:
    return float(f"{x:.6g}")


def _round_db(x: float) -> float:
    return round(x, 4)


def _biquad_pre_filter(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """BS.1770 stage 1 (high shelf, ~+4 dB above 1.5 kHz) designed for ``rate``.

    The analog prototype parameters are those libebur128 and ffmpeg reverse-engineered
    from the published 48 kHz coefficients; at 48 kHz they reproduce them exactly.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    b = np.array([vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    a = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    return b, a


def _biquad_rlb_filter(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """BS.1770 stage 2 (RLB high-pass at ~38 Hz) designed for ``rate``.

    The numerator is the standard's unnormalised (1, -2, 1), as in the 48 kHz table.
    """
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    b = np.array([1.0, -2.0, 1.0])
    a = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    return b, a


def _k_weight(x: np.ndarray, rate: int) -> np.ndarray:
    """K-weight a float signal, starting from zero filter state."""
    from scipy.signal import lfilter  # scipy is slow to import: only when measuring

    b1, a1 = _biquad_pre_filter(rate)
    b2, a2 = _biquad_rlb_filter(rate)
    return lfilter(b2, a2, lfilter(b1, a1, x))


def _as_float(samples: np.ndarray) -> np.ndarray:
    """Mono samples as float64 in [-1, 1); int16 is scaled by 1/32768 as ffmpeg does."""
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"expected mono 1-D samples, got shape {x.shape}")
    if x.dtype == np.int16:
        return x.astype(np.float64) / 32768.0
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float64)
    raise TypeError(f"expected int16 or float samples, got {x.dtype}")


def _block_powers(weighted: np.ndarray, rate: int) -> tuple[float, ...]:
    hop = rate // 10  # 100 ms; a 400 ms block is four hops (2205 / 8820 samples at 22,050 Hz)
    squares = weighted * weighted
    n_hops = len(squares) // hop
    if n_hops < 4:
        return (float(np.mean(squares)),) if len(squares) else ()
    hop_sums = squares[: n_hops * hop].reshape(n_hops, hop).sum(axis=1)
    blocks = np.convolve(hop_sums, np.ones(4), mode="valid") / (4 * hop)
    return tuple(float(p) for p in blocks)


def _true_peak_db(x: np.ndarray) -> float:
    from scipy.signal import resample_poly

    if not len(x):
        return SILENCE_DBTP
    # resample_poly treats the signal as zero outside the clip, which is what the edition
    # does too (clips are separated by silence), so edge overshoot is counted, not hidden.
    peak = max(np.max(np.abs(x)), np.max(np.abs(resample_poly(x, TRUE_PEAK_OVERSAMPLE, 1))))
    if peak <= 0.0:
        return SILENCE_DBTP
    return max(20.0 * math.log10(peak), SILENCE_DBTP)


def measure_clip(samples: np.ndarray, rate: int = DEFAULT_RATE) -> ClipLoudness:
    """Measure one mono clip (int16, or float in [-1, 1]) for later combination."""
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    x = _as_float(samples)
    powers = _block_powers(_k_weight(x, rate), rate)
    # Round now, not only when saving, so fresh and cached stats are identical.
    return ClipLoudness(tuple(_round_sig(p) for p in powers), _round_db(_true_peak_db(x)))


def _power_to_lufs(power: float) -> float:
    return LOUDNESS_OFFSET + 10.0 * math.log10(power) if power > 0.0 else -math.inf


def integrated_loudness(clips: Iterable[tuple[ClipLoudness, float]]) -> float:
    """Integrated loudness (LUFS) of the clips played in sequence, each with its gain (dB).

    Uses BS.1770 gating over all clips' blocks: blocks at or below -70 LUFS are dropped,
    then blocks at or below (mean of the rest - 10 LU).  Silence between clips adds only
    blocks below the absolute gate, so it is ignored.  Blocks straddling a clip boundary are
    not modelled; ffmpeg counts the louder ones, so on the joined file it reads about
    0.05-0.3 LU lower than this (more with short clips).  Returns ``-inf`` if no block
    passes the gates (ffmpeg prints -70.0 then).
    """
    parts = [np.asarray(c.block_powers, dtype=np.float64) * 10.0 ** (g / 10.0) for c, g in clips]
    powers = np.concatenate(parts) if parts else np.empty(0)
    # Gate in the power domain: l > L  <=>  p > 10**((L + 0.691) / 10).
    gated = powers[powers > 10.0 ** ((ABSOLUTE_GATE_LUFS - LOUDNESS_OFFSET) / 10.0)]
    if not len(gated):
        return -math.inf
    relative_gate = np.mean(gated) * 10.0 ** (RELATIVE_GATE_LU / 10.0)
    kept = gated[gated > relative_gate]
    return _power_to_lufs(float(np.mean(kept)))


def _quantise_nearest(value: float, step: float) -> float:
    # floor(x + 0.5) rather than round(): Python's round() is half-to-even, which would
    # make the direction at a tie depend on the parity of the multiple.
    return round(math.floor(value / step + 0.5) * step, 6)


def _quantise_down(value: float, step: float) -> float:
    # The epsilon stops float noise (2.3 -> 22.999999/10) from costing a whole step.
    return round(math.floor(value / step + 1e-9) * step, 6)


def edition_gains(
    clips: Sequence[ClipLoudness],
    target_lufs: float = -19.0,
    ceiling_dbtp: float = -2.0,
    step_db: float = 0.5,
) -> tuple[float, list[float]]:
    """Return ``(edition_gain_db, per_clip_gains_db)`` bringing the clips to ``target_lufs``.

    The edition gain is ``target - integrated loudness``, rounded to the nearest multiple
    of ``step_db`` so that editing one sentence almost never changes every other clip's
    gain (clips' encoded audio is cached by content including gain).  Rounding alone can
    leave the edition up to ``step_db / 2`` LU off target.

    Each clip gets ``min(edition gain, ceiling - clip true peak)``, the cap rounded down to
    a 0.1 dB multiple so its true peak stays at or below ``ceiling_dbtp``.  Capping only
    ever lowers loudness, so a book with many peaky clips can land below target; that is
    accepted (the peak ceiling wins), and a warning is logged when the capped edition is
    more than 0.5 LU below target.  Silent input (no gated blocks) gets 0 dB throughout.
    """
    if step_db <= 0.0:
        raise ValueError(f"step_db must be positive, got {step_db}")
    loudness = integrated_loudness((c, 0.0) for c in clips)
    if not math.isfinite(loudness):
        return 0.0, [0.0 for _ in clips]
    edition_gain = _quantise_nearest(target_lufs - loudness, step_db)
    gains = [
        min(edition_gain, _quantise_down(ceiling_dbtp - c.true_peak_db, CLIP_GAIN_STEP_DB))
        for c in clips
    ]
    _warn_if_capped_below_target(clips, gains, edition_gain, target_lufs)
    return edition_gain, gains


def _warn_if_capped_below_target(
    clips: Sequence[ClipLoudness], gains: list[float], edition_gain: float, target_lufs: float
) -> None:
    result = integrated_loudness(zip(clips, gains, strict=True))
    if result < target_lufs - CAPPING_WARN_LU:
        capped = sum(1 for g in gains if g < edition_gain)
        log.warning(
            "edition loudness %.1f LUFS is %.1f LU below target %.1f: %d clip(s) capped by "
            "the true-peak ceiling",
            result,
            target_lufs - result,
            target_lufs,
            capped,
        )


def apply_gain(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """Return int16 samples scaled by ``gain_db`` (float math, rounded, clipped to int16)."""
    x = np.asarray(samples)
    if x.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {x.dtype}")
    scaled = np.rint(x.astype(np.float64) * 10.0 ** (gain_db / 20.0))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


# Synthetic speech peaks 17-20 dB above its loudness: with gain alone, a -19 LUFS edition
# would clip a -1.5 dBTP ceiling. Each clip is therefore limited once, when it enters the
# cache, to peaks at most CREST_DB above its own loudness.
CREST_DB = 14.0
LIMITER_WINDOW_S = 0.02  # attack and release; longer than a voice's pitch period


def limit_peaks(samples: np.ndarray, rate: int = DEFAULT_RATE, crest_db: float = CREST_DB) -> np.ndarray:
    """``samples`` (int16) with peaks held to ``crest_db`` above the clip's loudness.

    The gain each sample needs is min-filtered over a window, then smoothed with a moving
    average of the same width: every gain in the average is at most what the sample
    needs, so no sample exceeds the threshold, and the gain changes smoothly.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    loudness = integrated_loudness([(measure_clip(samples, rate), 0.0)])
    if not math.isfinite(loudness) or len(samples) == 0:
        return samples
    threshold = 32768 * 10 ** ((loudness + crest_db) / 20)
    x = samples.astype(np.float64)
    need = np.minimum(1.0, threshold / np.maximum(np.abs(x), 1e-9))
    if need.min() >= 1.0:
        return samples
    width = max(1, int(LIMITER_WINDOW_S * rate)) | 1
    gain = uniform_filter1d(minimum_filter1d(need, width, mode="nearest"), width, mode="nearest")
    return np.clip(np.rint(x * np.minimum(gain, need)), -32768, 32767).astype(np.int16)
