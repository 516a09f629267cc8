"""The one sample format every stage uses: 16-bit mono PCM at 22,050 Hz.

It is what eSpeak NG produces (pyttsx3's driver hard-codes the rate), and resampling would
add nothing to synthetic speech. Clips, segments and every time in the manifest count
samples at this rate. (The speech workers' own modules repeat the rate: they run without
the package.)
"""

SAMPLE_RATE = 22050
SAMPLE_FORMAT = "s16le-22050-mono"  # enters every clip's cache key


def ms_to_samples(ms: float) -> int:
    return round(ms * SAMPLE_RATE / 1000)


def samples_to_ms(samples: int) -> int:
    return round(samples * 1000 / SAMPLE_RATE)
