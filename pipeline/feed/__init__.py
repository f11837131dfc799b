"""feed: the podcast feed, built (``build``: RSS 2.0 with the itunes and podcast
namespaces) and checked the way directories check it (``validate``)."""
