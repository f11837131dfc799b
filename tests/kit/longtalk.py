"""A long episode's records without rendering it: cues, word times and chapters as the
captions stage makes them, for pages built from records (tests and `bench.site`).

The words are ordinary English of varied length at about 170 words a minute, in cues of
three seconds, two voices taking turns, a chapter every ten minutes: the shape of a real
two-hour conversation's transcript, deterministic.
"""

from __future__ import annotations

import random

from pipeline.records import Chapter, Cue

_VOCABULARY = (
    "we talked about the flat and how quiet it was at first when nobody came round so I "
    "started going to the youth club on Thursdays because my worker said it would help and "
    "honestly it did there were people who had been through the same things moving out "
    "leaving care budgeting cooking learning what a tenancy agreement even means council "
    "tax electricity meter neighbours music friendship confidence"
).split()


def long_talk(
    seconds: float = 7200.0, seed: int = 16
) -> tuple[list[Cue], list[tuple[float, float, str]], list[Chapter]]:
    """Cues, words (start, end, text) and chapters for ``seconds`` of talk."""
    rng = random.Random(seed)
    cues: list[Cue] = []
    words: list[tuple[float, float, str]] = []
    t = 0.0
    turn = 0
    while t + 3.0 <= seconds:
        count = rng.randint(7, 10)
        tokens = [rng.choice(_VOCABULARY) for _ in range(count)]
        tokens[0] = tokens[0].capitalize()
        tokens[-1] += "."
        step = 2.8 / count
        for i, tok in enumerate(tokens):
            words.append((round(t + i * step, 2), round(t + (i + 1) * step, 2), tok))
        if rng.random() < 0.15:
            turn += 1
        speaker = ("Jordan", "Sam")[turn % 2]
        cues.append(Cue(t, t + 2.9, " ".join(tokens), speaker=speaker))
        t += 3.0
    chapters = [
        Chapter(float(m * 600), f"Part {m + 1} of the talk") for m in range(int(seconds // 600))
    ]
    return cues, words, chapters
