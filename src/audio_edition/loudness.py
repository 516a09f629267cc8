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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .pcm import SAMPLE_RATE

log = logging.getLogger(__name__)

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


# numpy alone, no scipy: scipy.signal costs 75 MB of memory just to import.
K_RESPONSE_S = 0.1  # by then the K-weighting impulse response is below 1e-9 of its peak


def _biquad(b: np.ndarray, a: np.ndarray, x: list[float]) -> list[float]:
    """Direct-form biquad, in plain Python: only ever run on a short impulse."""
    y: list[float] = []
    x1 = x2 = y1 = y2 = 0.0
    for x0 in x:
        y0 = b[0] * x0 + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
        y.append(y0)
        x1, x2, y1, y2 = x0, x1, y0, y1
    return y


@lru_cache(maxsize=4)
def _k_impulse(rate: int) -> np.ndarray:
    """The K-weighting filters' impulse response, long enough to have died away."""
    impulse = [1.0] + [0.0] * (int(K_RESPONSE_S * rate) - 1)
    return np.array(_biquad(*_biquad_rlb_filter(rate), _biquad(*_biquad_pre_filter(rate), impulse)))


# K-weighting runs by FFT, in fixed blocks (overlap-add): one filter spectrum serves every
# clip, and 16,384-point transforms are 3.5x faster than one transform of a whole clip.
# In float32, twice as fast again: the input (int16 / 32768) is exact in float32, and the
# block powers stay within 2e-8 of float64's, far inside the 6 digits the sidecar keeps.
K_FFT_SIZE = 16384


@lru_cache(maxsize=4)
def _k_spectrum(rate: int) -> np.ndarray:
    return np.fft.rfft(_k_impulse(rate).astype(np.float32), K_FFT_SIZE)


def _k_weight(x: np.ndarray, rate: int) -> np.ndarray:
    """K-weight a signal (float32 out), from zero filter state (as an IIR filter would).

    Each block of ``step`` samples is filtered on its own; its tail (the impulse
    response's length, shorter than a block) is added to the start of the next block.
    """
    taps = len(_k_impulse(rate))
    step = K_FFT_SIZE - taps + 1
    blocks = -(-len(x) // step)
    padded = np.zeros(blocks * step, dtype=np.float32)
    padded[: len(x)] = x
    spectra = np.fft.rfft(padded.reshape(blocks, step), K_FFT_SIZE, axis=1) * _k_spectrum(rate)
    filtered = np.fft.irfft(spectra, K_FFT_SIZE, axis=1)
    out = filtered[:, :step].copy()
    out[1:, : taps - 1] += filtered[:-1, step:]
    return out.ravel()[: len(x)]


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
        return (float(np.mean(squares, dtype=np.float64)),) if len(squares) else ()
    hop_sums = squares[: n_hops * hop].reshape(n_hops, hop).sum(axis=1, dtype=np.float64)
    blocks = np.convolve(hop_sums, np.ones(4), mode="valid") / (4 * hop)
    return tuple(float(p) for p in blocks)


@lru_cache(maxsize=1)
def _interpolator() -> np.ndarray:
    """A 48-tap (12 per phase) 4x interpolation filter, the length BS.1770-4 Annex 2 uses.

    A Kaiser-windowed sinc cut at the original Nyquist, scaled so each phase has unity
    gain at DC.
    """
    taps = 48
    n = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(n / TRUE_PEAK_OVERSAMPLE) * np.kaiser(taps, 5.0)
    return h * (TRUE_PEAK_OVERSAMPLE / h.sum())


@lru_cache(maxsize=1)
def _phases() -> np.ndarray:
    """The interpolator's polyphase components, reversed for a dot product with a window."""
    h = _interpolator()
    return np.stack([h[p::TRUE_PEAK_OVERSAMPLE][::-1] for p in range(TRUE_PEAK_OVERSAMPLE)])


def _true_peak_db(x: np.ndarray) -> float:
    if not len(x):
        return SILENCE_DBTP
    # Polyphase 4x interpolation, evaluated only where it can exceed the sample peak: an
    # interpolated value is at most sum(|h_p|) times the largest sample in its window, so
    # windows without a sample above max / sum(|h_p|) cannot hold the true peak. The signal
    # is zero outside the clip, as in the edition, so edge overshoot is counted.
    phases = _phases()
    taps = phases.shape[1]
    sample_peak = float(np.max(np.abs(x)))
    if sample_peak == 0.0:
        return SILENCE_DBTP
    loud = np.abs(x) >= sample_peak / np.abs(phases).sum(axis=1).max()
    # Output m's window holds samples m-taps+1 .. m: dilate the loud samples forward.
    near = np.zeros(len(x) + taps - 1, dtype=bool)
    for shift in range(taps):
        near[shift : shift + len(x)] |= loud
    outputs = np.flatnonzero(near)
    padded = np.concatenate([np.zeros(taps - 1), x, np.zeros(taps - 1)])
    # einsum, not a matrix product: numpy hands `@` to OpenBLAS, whose threads then spin on
    # both cores, doubling this step's CPU while the speech workers and encoders need them.
    up = np.einsum("mk,pk->mp", padded[outputs[:, None] + np.arange(taps)], phases)
    peak = max(sample_peak, float(np.max(np.abs(up))))
    if peak <= 0.0:
        return SILENCE_DBTP
    return max(20.0 * math.log10(peak), SILENCE_DBTP)


def measure_clip(samples: np.ndarray, rate: int = SAMPLE_RATE) -> ClipLoudness:
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


def clip_gain(clip: ClipLoudness, target_lufs: float = -19.0, ceiling_dbtp: float = -2.0) -> float:
    """The gain (dB) that brings one clip to ``target_lufs``, capped by the peak ceiling.

    Every clip is normalised on its own, not by one edition-wide gain: a segment's audio
    then depends on its own clips only, so an edit never changes (and never re-encodes)
    the rest of the book, and every sentence is as loud as the next, which helps at high
    playback speed. Clips at target make an edition at target: integrated loudness gates
    out the silence between them. Rounded to 0.1 dB so stats round-trip to the same gain.
    """
    loudness = integrated_loudness([(clip, 0.0)])
    if not math.isfinite(loudness):
        return 0.0  # silence: nothing to bring up
    gain = _quantise_nearest(target_lufs - loudness, CLIP_GAIN_STEP_DB)
    return min(gain, _quantise_down(ceiling_dbtp - clip.true_peak_db, CLIP_GAIN_STEP_DB))


def apply_gain(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """Return int16 samples scaled by ``gain_db`` (float math, rounded, clipped to int16)."""
    x = np.asarray(samples)
    if x.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {x.dtype}")
    scaled = np.rint(x.astype(np.float64) * 10.0 ** (gain_db / 20.0))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


# Synthetic speech peaks 17-20 dB above its loudness: with gain alone, a -19 LUFS edition
# would clip a -1.5 dBTP ceiling. Each clip is therefore limited once, when it enters the
# cache, to peaks at most CREST_DB above its own level. The level is the gated power of the
# unweighted signal: K-weighting costs an FFT, and for eSpeak's voices the K-weighted
# loudness sits a steady 0.8 dB (+-0.1) above it, so this is 14 dB above the loudness.
CREST_DB = 14.8
LIMITER_WINDOW_S = 0.02  # attack and release; longer than a voice's pitch period


def gated_level_db(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """The clip's power in dBFS, gated as BS.1770 gates loudness, but not K-weighted."""
    powers = _block_powers(_as_float(samples), rate)
    return integrated_loudness([(ClipLoudness(powers, SILENCE_DBTP), 0.0)]) - LOUDNESS_OFFSET


LIMITER_BLOCK = 21  # samples (about 1 ms, odd): the gain is worked out per block, then eased


def limit_peaks(
    samples: np.ndarray, rate: int = SAMPLE_RATE, crest_db: float = CREST_DB
) -> np.ndarray:
    """``samples`` (int16) with peaks held to ``crest_db`` above the clip's gated level.

    The gain each ~1 ms block needs (for its largest sample) is min-filtered over a
    window, then smoothed with a moving average a block narrower and interpolated
    linearly between block centres: each of the two values mixed at a sample is an
    average of minima whose windows hold that sample's block, so no sample exceeds the
    threshold, and the gain changes smoothly. Working per block, not per sample, makes
    this five times faster, and a voice's peaks are no narrower than a block.
    """
    if len(samples) == 0:
        return samples
    level = gated_level_db(samples, rate)
    if not math.isfinite(level):
        return samples
    threshold = 32768 * 10 ** ((level + crest_db) / 20)
    magnitude = np.abs(samples.astype(np.int32))
    if magnitude.max() <= threshold:
        return samples
    blocks = -(-len(samples) // LIMITER_BLOCK)
    peaks = np.zeros(blocks * LIMITER_BLOCK, dtype=np.int32)
    peaks[: len(samples)] = magnitude
    peaks = peaks.reshape(blocks, LIMITER_BLOCK).max(axis=1)
    need = np.minimum(1.0, threshold / np.maximum(peaks, 1))
    half = max(1, round(LIMITER_WINDOW_S * rate / 2 / LIMITER_BLOCK))
    eased = _running_mean(_running_min(need, 2 * half + 3), 2 * half + 1)
    gain = _between_block_centres(eased.astype(np.float32), LIMITER_BLOCK, len(samples))
    limited = np.rint(samples.astype(np.float32) * gain)
    # The clip only guards against float rounding: the gain is already low enough.
    return np.clip(limited, -threshold, threshold).astype(np.int16)


def _between_block_centres(values: np.ndarray, block: int, n: int) -> np.ndarray:
    """``n`` samples interpolated linearly between per-block values set at block centres.

    What np.interp gives for centres at ``block * k + block // 2`` (``block`` is odd), but
    built as one ramp per pair of blocks: the centres are evenly spaced, so nothing needs
    searching, and it is five times faster. Before the first centre and after the last,
    the value is held.
    """
    steps = np.arange(block, dtype=values.dtype) / block
    ramps = values[:-1, None] + (values[1:] - values[:-1])[:, None] * steps[None]
    head = np.full(block // 2, values[0], dtype=values.dtype)
    tail = np.full(max(0, n - len(head) - ramps.size), values[-1], dtype=values.dtype)
    return np.concatenate([head, ramps.ravel(), tail])[:n]


def _running_min(x: np.ndarray, width: int) -> np.ndarray:
    """Minimum over a centred window of odd ``width``, edges extended (van Herk/Gil-Werman)."""
    half = width // 2
    padded = np.pad(x, (half, half), mode="edge")
    blocks = -(-len(padded) // width)
    grid = np.pad(padded, (0, blocks * width - len(padded)), constant_values=np.inf)
    grid = grid.reshape(blocks, width)
    prefix = np.minimum.accumulate(grid, axis=1).ravel()
    suffix = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    # The window starting at i spans one block boundary: min(suffix[i], prefix[i + w - 1]).
    return np.minimum(suffix[: len(x)], prefix[width - 1 : width - 1 + len(x)])


def _running_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Mean over a centred window of odd ``width``, edges extended."""
    half = width // 2
    sums = np.concatenate(([0.0], np.cumsum(np.pad(x, (half, half), mode="edge"))))
    return (sums[width:] - sums[:-width]) / width
