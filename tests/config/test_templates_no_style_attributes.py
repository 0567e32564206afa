"""No template carries inline CSS (style attributes or <style> elements): presentation lives in static/css, so a
strict Content Security Policy (style-src 'self') can come without breaking pages."""

from __future__ import annotations

import re

from tests.config.test_templates_no_inline_js import _templates

STYLE_ATTRIBUTE = re.compile(r"<[^>]*[\s}]style\s*=", re.IGNORECASE | re.DOTALL)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)


def test_the_check_catches_style_attributes_and_elements():
    assert STYLE_ATTRIBUTE.search('<span class="x"\n  style="color:red">')
    assert STYLE_ATTRIBUTE.search('<span {% if done %}style="text-decoration:line-through"{% endif %}>')
    assert STYLE_ELEMENT.search("<style>.x { color:red }</style>")
    assert not STYLE_ATTRIBUTE.search('<span class="done-text" data-style="x">')
    assert not STYLE_ELEMENT.search('<link rel="stylesheet" href="/static/css/app.css">')


def test_no_template_has_style_attributes_or_elements():
    offenders = []
    for path in _templates():
        text = path.read_text()
        for rx in (STYLE_ATTRIBUTE, STYLE_ELEMENT):
            for match in rx.finditer(text):
                offenders.append(f"{path}:{text.count(chr(10), 0, match.start()) + 1}")
    assert not offenders, offenders
