"""project: the files the contributors and the producer write, read with a line number
for every value.

``yamlfile`` (hand-written YAML), ``showfile`` (the show and episode files), ``people``
(credits, consent, withdrawals), ``approval``, ``corrections``, ``timecode``, ``text``
(descriptions as apps accept them), and the records storycast keeps beside them:
``ledger`` (what was published, and who is in it) and ``auditlog``.
"""
