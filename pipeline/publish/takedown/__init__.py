"""Takedown: when consent is withdrawn (or was never given), nothing of the episode remains.

A takedown wins over everything else a publish does. It is decided before any
stage runs, from what was published (``ledger``: who is in each published
episode) and who is in each episode now (``appearances:``), against the people
file and ``withdrawals.yaml``. It needs no render, no probe and no valid EDL, and
neither another episode's failure nor a hand-edited object elsewhere can stop it.

In storage (``take_down``), in this order, so that a run killed at any point is
finished by the next one:

1. the manifest records the takedown as pending, with every key to remove (every
   version of the episode: current, superseded and retired; the retention window
   never applies) and drops the episode from what it says is published;
2. each feed that lists the episode is rewritten without it (an item is the
   episode's if its guid is the episode's or any address in it is one of the
   episode's files). A feed changed by hand keeps the rest of its change, and is
   marked so that the next publish reports it instead of overwriting it;
3. every key is deleted; one that fails does not stop the others;
4. storage and the feeds are read back. Only what is found gone counts as taken
   down; the manifest keeps the takedown pending until nothing is left.

Then the private archive's copies go (``purge_archive``), and everything storycast
derived from the recordings goes from its cache (``purge_caches``: measurements,
transcripts, audio and video renders, what killed renders left behind), except
what an episode still being published uses. ``episodes/audit.jsonl`` gets one JSON
line per takedown and run: what was removed, when, why and at whose request.

The raw recordings stay where the producer keeps them unless the person asks for
them to be erased (``storycast withdraw ID --erase-recordings``, ``erase_recordings``).
"""

from pipeline.publish.takedown.decide import AUDIT_FILE, Takedown, find, withdrawn_recordings
from pipeline.publish.takedown.erase import Erasure, erase, find_raw_recordings
from pipeline.publish.takedown.log import append_audit, audit_entry, problem_for
from pipeline.publish.takedown.purge import purge_archive, purge_caches, raw_copies
from pipeline.publish.takedown.sounds import withdrawn_sounds
from pipeline.publish.takedown.steps import (
    finish,
    holds,
    mark_jobs,
    name_holds,
    record_publications,
)
from pipeline.publish.takedown.storage import feed_lists, take_down

__all__ = [
    "AUDIT_FILE", "Erasure", "Takedown", "append_audit", "audit_entry", "erase", "feed_lists",
    "find", "find_raw_recordings", "finish", "holds", "mark_jobs", "problem_for",
    "purge_archive", "purge_caches", "raw_copies", "record_publications", "take_down",
    "withdrawn_recordings", "withdrawn_sounds", "name_holds",
]  # fmt: skip
