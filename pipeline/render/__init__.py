"""render: a Timeline made into what listeners get.

``audio`` (the episode's sound, a few clips per ffmpeg run, at the loudness target),
``video`` (the phones' pictures, on one canvas) and ``captions`` (WebVTT, SRT, the
transcript and chapters, in episode time).
"""
