"""site: the listeners' web pages, published beside the feed from the same records.

``build.show_page`` and ``build.episode_page`` render Jinja2 templates (autoescaped) in
``templates/``; the style and the small script are inlined, so a page needs nothing from
anywhere else and can never be out of step with its own style.
"""
