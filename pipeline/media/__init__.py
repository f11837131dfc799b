"""media: everything that runs ffmpeg or ffprobe, and everything that reads or writes
media bytes.

``runner`` (the one way a program runs: logged, time-limited, contributor files opened
only through the demuxer and protocol allow-lists), ``probe`` (one probe of a recording:
sound, tags, picture), ``loudness`` (EBU R128), ``scrub`` (no location, device or time
trace), ``tag`` (the MP3's own tags) and ``images`` (published pictures, re-encoded clean).
"""
