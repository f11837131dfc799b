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
# When one gain cannot reach the target under the true-peak ceiling (loud clicks, claps,
# plosives), a look-ahead limiter after it holds the peaks: it may take the loudest peak
# down by at most this much (dB); past that, loudness stops short and the note says by
# how much the published file is short.
LIMITER_MAX_REDUCTION_DB = 6.0
# Encodes of one episode at most: the first, then corrections from what was measured.
MAX_ENCODES = 3
# LAME at 128 kb/s comes out about this much quieter than what it is given (LU; 0.4 for
# speech and a sine, 0.4-0.5 for pink noise). The first gain allows for it, so most
# episodes are encoded once; the MP3 is still measured, and encoded again if it missed.
MP3_LOUDNESS_LOSS = 0.4
# Below this a recording is treated as silence and given no gain.
SILENCE_LUFS = -60.0

# Render pipeline working format and MP3 output.
WORK_SAMPLE_RATE = 48000
OUTPUT_SAMPLE_RATE = 44100
OUTPUT_CHANNELS = 2
MP3_BITRATE = "128k"
# The studio's previews (render.audio.preview_command, listen_command): made while heard.
PREVIEW_MP3_BITRATE = "64k"
STUDIO_LISTEN_SECONDS = 300.0  # pressing a word plays this long from it, at most
PREVIEW_STREAM_BLOCK = 8192  # bytes sent as soon as ffmpeg has made them (1 s at 64 kb/s)

# Captions (broadcast practice; WebVTT first).
CAPTION_MAX_LINE = 42
CAPTION_MAX_LINES = 2
CAPTION_MIN_SECONDS = 1.0
CAPTION_MAX_SECONDS = 7.0
CAPTION_PAUSE_BREAK = 0.7  # a silence this long between words starts a new cue

# Transcription defaults.
TRANSCRIBE_ENGINE = "faster-whisper"
TRANSCRIBE_MODEL = "tiny.en"
TRANSCRIBE_COMPUTE_TYPE = "int8"  # twice float32's speed on 2 cores; see README for WER
# On a Dask worker that advertises a GPU (`dask worker --resources "GPU=1"`), transcription
# tasks ask for it and decode on CUDA at this precision. Its words may differ from int8 on a
# CPU in the last digits, so a transcript's cache key names the device and precision when
# they are not the CPU's (pipeline.transcribe.cache_key).
TRANSCRIBE_GPU_COMPUTE_TYPE = "float16"
GPU_RESOURCE = "GPU"  # the Dask worker resource's name
TRANSCRIBE_LANGUAGE = "en"
# Each recording's language is detected first, by a multilingual model, on its first
# 30 seconds of speech (within its first 2 minutes). A recording not in English is
# transcribed by the multilingual model in its own language (an English-only model
# invents English words for other languages, slowly).
TRANSCRIBE_DETECT_MODEL = "base"
TRANSCRIBE_MULTILINGUAL_MODEL = "base"
TRANSCRIBE_DETECT_SECONDS = 30.0
TRANSCRIBE_DETECT_SCAN_SECONDS = 120.0
# Give the names of people credited by name to the model as hotwords. It spells an
# unusual name as written, but on the example show it lost other words: off until measured
# on more speech.
TRANSCRIBE_NAME_HOTWORDS = False

# Artwork rules (Apple Podcasts).
ARTWORK_MIN_PX = 1400
ARTWORK_MAX_PX = 3000

# Where caches live, relative to the project root (gitignored).
CACHE_DIR = ".storycast/cache"
# Where each show's publishing lock file is kept, relative to the project root.
LOCK_DIR = ".storycast/locks"
# Bump when the meaning of a cached record changes; old entries are rebuilt.
# 2: every entry carries its own sha256 (``NAME.sha256``) and is checked on read.
CACHE_VERSION = 2

# Caching headers for the store.
# Media are never changed under their names, but a day, not a year, and never "immutable":
# a CDN or other cache in front of storage then lets a takedown hold within a day (apps
# ask again with the ETag, and a 304 costs next to nothing).
MEDIA_CACHE_CONTROL = "public, max-age=86400"
FEED_CACHE_CONTROL = "public, max-age=300"

# The listeners' site: every page storycast writes stays under this many bytes (media and
# the words' times it fetches not counted); a longer transcript goes on in linked parts.
PAGE_BUDGET_BYTES = 100_000

# Proposals (`storycast propose`): suggestions only, never applied.
PROPOSE_SILENCE_DB = -40  # below this counts as silence
PROPOSE_MIN_SILENCE = 1.0  # seconds of silence worth suggesting a cut for
PROPOSE_KEEP_PAUSE = 0.3  # seconds of pause kept on each side of a proposed cut
PROPOSE_CHAPTER_PAUSE = 2.5  # a pause this long could start a chapter
# A retake: a phrase started again soon after ("we moved in, sorry, we moved into ...").
RETAKE_WITHIN = 6.0  # seconds from the first try's start to the second's, at most
RETAKE_MIN_WORDS = 2  # words the second try must start with, the same as the first
RETAKE_MAX_WORDS = 15  # words of a first try, at most (longer is not a restart)
RETAKE_PAUSE = 0.3  # seconds of pause (or a comma, full stop...) before each try

# Captions, continued: reading speed and where an overlong cue is split.
CAPTION_MAX_CPS = 20.0  # characters a second a cue may ask of a reader, where timing allows
CAPTION_CLAUSE_PAUSE = 0.3  # a silence this long is a good place to split an overlong cue
TRANSCRIPT_PARAGRAPH_GAP = 2.0  # seconds of silence that start a new paragraph in the HTML

# Transcription: recordings are decoded and transcribed in windows of this many
# seconds, each cut at the quietest moment of its last few seconds, so memory stays
# bounded (a 10-minute window is 38 MB of float32) however long the recording is.
TRANSCRIBE_WINDOW_SECONDS = 600.0
TRANSCRIBE_WINDOW_SEARCH_SECONDS = 15.0
# Mean word probability below which a transcript is flagged as doubtful (another
# language than the show's, music, or noise).
TRANSCRIBE_LOW_CONFIDENCE = 0.45
TRANSCRIBE_SEED = 1234  # fixed, so temperature fallback is reproducible
# Decoding work budget: no recording may cost more than a real-time factor of 0.3,
# whatever its language, noise or music (see ``transcribe.faster_whisper.Budget``). Work is
# counted in model steps (one token of one hypothesis; an encoder pass counts as
# ``TRANSCRIBE_ENCODE_STEPS``), each worth the CPU seconds it took on the reference
# machine (2 AMD EPYC cores, int8), so the same recording is decoded the same way on every
# machine. Past FRUGAL estimated CPU seconds per second of the recording reached, the rest
# is decoded once per stretch, without fallback retries or repairs; past STOP, decoding
# stops until the recording catches up (those seconds get no captions).
TRANSCRIBE_BUDGET_FRUGAL = 0.12
TRANSCRIBE_BUDGET_STOP = 0.2
TRANSCRIBE_BUDGET_FIRST_SECONDS = 30.0  # the budget never counts fewer seconds reached
TRANSCRIBE_ENCODE_STEPS = 170
TRANSCRIBE_STEP_CPU_SECONDS = {"tiny.en": 0.0018, "base": 0.0038}  # unknown models: the most
# Where models assembled from split model packages are kept.
MODEL_DIR_ENV = "STORYCAST_MODEL_DIR"

# Feed text limits (Apple Podcasts).
DESCRIPTION_MAX_BYTES = 4000

# Video episodes (pipeline.render.video): H.264 High, yuv420p, constant frame rate, at most 1080p.
VIDEO_MAX_LONG_SIDE = 1920  # 1080p, in either orientation
VIDEO_MAX_SHORT_SIDE = 1080
VIDEO_MAX_FPS = 30.0  # faster sources are halved (60 -> 30, 50 -> 25, 59.94 -> 29.97)
VIDEO_DEFAULT_FPS = "30"  # when no clip says what it is
VIDEO_CRF = 21  # x264 quality: visually clean for talking heads at phone sizes
VIDEO_PRESET = "veryfast"  # about 3x faster than "medium" for ~10% more bytes at equal quality
# Quality-led, with a ceiling: grainy low-light phone footage at CRF 21 runs to 16 Mb/s,
# 2.3 GB for 20 minutes. The ceiling scales with the picture's area (1080p: 6 Mb/s, about
# what podcast apps stream comfortably) and never goes under the floor.
VIDEO_MAX_BITRATE_1080P = 6_000_000  # bits per second
VIDEO_MIN_MAX_BITRATE = 800_000
VIDEO_GOP_SECONDS = 2.0  # a keyframe at least this often, so players seek quickly
VIDEO_AUDIO_BITRATE = "160k"  # AAC-LC stereo
# What AAC at that bitrate takes from the loudness, allowed for in the first gain (as
# MP3_LOUDNESS_LOSS for the MP3); the encoded sound is measured and corrected anyway.
AAC_LOUDNESS_LOSS = 0.0
VIDEO_AUDIO_SAMPLE_RATE = 48000
VIDEO_CLIPS_PER_RUN = 4  # pictures of this many clips per ffmpeg run: bounds its memory
# Groups of pictures encoded at once (each by a one-thread x264, for repeatable bytes),
# at most one per core: about 400 MB of memory each at 1080p.
VIDEO_PARTS_AT_ONCE = 2
AUDIO_CLIPS_PER_RUN = 8  # sound of this many clips per ffmpeg run (render.render_stems)
VIDEO_POSTER_QUALITY = 3  # mjpeg -q:v (2 best .. 31 worst)
VIDEO_CAPTION_STYLE = "FontName=DejaVu Sans,FontSize=16,Outline=1,Shadow=0,MarginV=24"

# S3-compatible object storage (pipeline/store/s3.py).
S3_MAX_ATTEMPTS = 6  # botocore "standard" retries: 503 SlowDown, resets, timeouts, with backoff
S3_CONNECT_TIMEOUT = 10.0  # seconds
S3_READ_TIMEOUT = 60.0  # seconds
S3_MULTIPART_THRESHOLD = 16 * 1024 * 1024  # files this big go up in parts
S3_MULTIPART_CHUNKSIZE = 8 * 1024 * 1024
S3_MAX_CONCURRENCY = 4  # parts (or files) sent at once
# Object keys that only storycast writes; raw recordings go to the private target.
PRIVATE_CACHE_CONTROL = "private, no-store"
# Podcast apps and web players fetch transcripts and chapters cross-origin.
CORS_ALLOWED_ORIGINS = ("*",)
CORS_MAX_AGE_SECONDS = 86400

# `storycast validate-feed` (pipeline/feed/validate.py): fetching feeds and artwork.
FEED_FETCH_TIMEOUT = 20.0  # seconds to connect and between reads
FEED_FETCH_MAX_BYTES = 20 * 1024 * 1024  # a feed (or artwork) larger than this is not read
FEED_FETCH_USER_AGENT = "storycast-validate-feed"
# A server that trickles a byte now and then never trips the timeout above, so every
# fetch (the feed, then its artwork) also has a time limit from connecting to its last
# byte, and the whole command one more (--time-limit) that both fetches share.
FEED_FETCH_TIME_LIMIT = 60.0  # seconds for one fetch, redirects included
VALIDATE_FEED_TIME_LIMIT = 120.0  # seconds for the whole `storycast validate-feed` command

# `storycast preview` (pipeline/store/preview.py): a local server, but bounded against any client.
PREVIEW_IDLE_TIMEOUT = 5.0  # seconds a connection may go without a byte either way
PREVIEW_REQUEST_TIMEOUT = 10.0  # seconds for a request's line and headers to arrive in full
PREVIEW_MAX_HEAD_BYTES = 96 * 1024  # request line and headers together (the line alone: 64 KiB)
PREVIEW_MAX_CONNECTIONS = 32  # at once; more are answered 503 with Retry-After at once

# Superseded media stays published this long after a new version replaces it, so an
# app holding the previous feed can still download what it lists. (Withdrawn
# episodes are removed at once.)
RETIRE_SECONDS = 7 * 24 * 3600

# Every ffmpeg/ffprobe run has a time limit (pipeline.media.runner): this one for quick steps
# (probing, measuring a short file); steps that scale with the media add
# TOOL_SECONDS_PER_MEDIA_SECOND for each second they process.
TOOL_TIMEOUT = 600.0
TOOL_SECONDS_PER_MEDIA_SECOND = 4.0

# The publishing lease in an S3 bucket (pipeline.store.locks): it expires this long after its
# holder last renewed it (renewed every quarter of it), so a killed run blocks its show
# for at most this long.
S3_LOCK_SECONDS = 600.0

# A recording's decoding limit is scaled by its length: by what its header claims, but never
# by more than its size allows at this many bytes a second (below any phone's bit rate), so
# a header that lies about a huge length cannot lift the limit off a hung decoder.
MEDIA_MIN_BYTES_PER_SECOND = 500

# Hostile input is bounded: an EDL, show, episode, people or corrections file larger than
# this is not read, and no EDL (of any format) may hold more clips, nor any YAML list or
# group of fields more entries. A hand-made EDL has tens or hundreds of clips.
MAX_INPUT_FILE_BYTES = 20 * 1024 * 1024
MAX_EDL_CLIPS = 100_000

# Progress (pipeline.progress): a long step shows how far through the recording it is.
# A step that ends within PROGRESS_DELAY seconds shows nothing (`--progress-after`); in a
# log, a line is written each time a step passes another PROGRESS_STEP of the way.
PROGRESS_DELAY = 1.0
PROGRESS_STEP = 0.1

# Running the episodes' work on Dask distributed (pipeline.compute): a task that raises (a
# worker without ffmpeg, say) is tried this many more times; a task whose worker died under
# it is tried again on another, up to COMPUTE_WORKER_DEATHS deaths. A scheduler that does
# not answer within SCHEDULER_TIMEOUT seconds stops the run before anything is published.
COMPUTE_RETRIES = 2
COMPUTE_WORKER_DEATHS = 3
SCHEDULER_TIMEOUT = 5.0
# Transcription asks for a worker's GPU only while some worker has one: when none has been
# seen for GPU_GONE_AFTER seconds (looked at every GPU_WATCH seconds; a nanny restarting a
# killed worker takes a few), the tasks still waiting for one are sent again without it.
GPU_WATCH = 1.0
GPU_GONE_AFTER = 5.0
# An embedded cluster's workers share this machine's memory less this much each for the
# ffmpeg processes they start, which Dask's nanny does not count (a worker runs one episode
# at a time: one ffmpeg, or up to VIDEO_PARTS_AT_ONCE picture encodes of about 400 MB).
FFMPEG_MEMORY_RESERVE = 1 << 30

# A copy of a withdrawn recording (other bytes, the same sound) is held back too
# (media.fingerprint): Chromaprint fingerprints that differ in at most this share of their
# bits are the same sound. Measured on the example show: a tag-only copy 0.0, an Opus
# re-encode at 32 kb/s 0.026; different recordings 0.35 to 0.41.
FINGERPRINT_SAME_SOUND = 0.15
FINGERPRINT_MAX_SHIFT = 40  # words (about 5 s) one fingerprint may be shifted against another
FINGERPRINT_MIN_WORDS = 16  # about 2 s: shorter sounds are not compared

# After a takedown each removed file's public address is asked for (publish.takedown.served):
# at most TAKEDOWN_SERVED_TIMEOUT seconds each, TAKEDOWN_SERVED_SECONDS in all.
TAKEDOWN_SERVED_TIMEOUT = 5.0
TAKEDOWN_SERVED_SECONDS = 30.0
