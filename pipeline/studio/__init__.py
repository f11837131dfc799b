"""The contributors' studio: a local page to read, hear, edit, redact and approve an episode.

``edits`` turns what the page sends into the native YAML EDL (and back into what the page
shows); ``server`` is the page itself. Both stand on the rooms below (edl, project, records);
the `storycast studio` command hands the server a ``Project`` that loads episodes, makes
transcripts and renders what will be heard through the same stages a publish runs.
"""
