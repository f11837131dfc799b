"""Every tunable number in one place: loudness, encoding, captions, caching."""

from __future__ import annotations

# Loudness (EBU R128 / Apple podcast practice): stereo programme at -16 LUFS.
TARGET_LUFS = -16.0
TARGET_TRUE_PEAK = -1.0
# MP3 encoding can raise the true peak a little; keep this much headroom.
CODEC_PEAK_MARGIN = 0.5
# A rendered episode further than this from the target is re-encoded once.
LOUDNESS_TOLERANCE = 0.2
# Per-recording gain that evens out quiet and loud phones before the mix.
MAX_RECORDING_GAIN_DB = 30.0
# Sample-peak ceiling after per-recording gain, so the final linear
# normalisation never has to limit (dB full scale).
PRE_LIMIT_DBFS = -3.0
# Below this a recording is treated as silence and given no gain.
SILENCE_LUFS = -60.0

# Render pipeline working format and MP3 output.
WORK_SAMPLE_RATE = 48000
OUTPUT_SAMPLE_RATE = 44100
OUTPUT_CHANNELS = 2
MP3_BITRATE = "128k"

# Captions (broadcast practice; WebVTT first).
CAPTION_MAX_LINE = 42
CAPTION_MAX_LINES = 2
CAPTION_MIN_SECONDS = 1.0
CAPTION_MAX_SECONDS = 7.0
CAPTION_PAUSE_BREAK = 0.7  # a silence this long between words starts a new cue

# Transcription defaults.
TRANSCRIBE_ENGINE = "faster-whisper"
TRANSCRIBE_MODEL = "tiny.en"
TRANSCRIBE_LANGUAGE = "en"

# Artwork rules (Apple Podcasts).
ARTWORK_MIN_PX = 1400
ARTWORK_MAX_PX = 3000

# Where caches live, relative to the project root (gitignored).
CACHE_DIR = ".storycast/cache"
# Bump when the meaning of a cached record changes; old entries are rebuilt.
CACHE_VERSION = 1

# Caching headers for the store.
IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
FEED_CACHE_CONTROL = "public, max-age=300"
