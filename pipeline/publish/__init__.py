"""publish: the protocol that puts a show in its store, and proves what is there.

- ``manifest``: what a show has published, recorded in its own store; how keys are named.
- ``plan``: what a publish would upload, keep, retire and delete, decided before any write
  (and the dry run's account of it).
- ``apply``: carrying the plan out: media, then feeds, then the manifest, then deletions.
- ``takedown``: withdrawn episodes out of the feeds and the store, every version, first.
- ``archive``: raw recordings kept in the private store, never the public one.
- ``outgoing``: every text that leaves the machine, and the checks over all of it.
- ``audit``: `storycast audit`, the proof read back from what is published.
"""
