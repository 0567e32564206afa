"""No template carries inline JavaScript: event handler attributes or javascript: URLs.

HTML escaping does not protect a JavaScript string inside an attribute such as onsubmit="return confirm('...')":
an identifier type like ``x');alert(1);//`` runs. Behaviour lives in static/js/app.js, keyed on data attributes.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def _templates() -> list[Path]:
    roots = [Path(d) for t in settings.TEMPLATES for d in t.get("DIRS", [])]
    roots += [p for p in Path(settings.BASE_DIR).glob("*/templates") if ".venv" not in p.parts]
    return sorted({f for root in roots for f in root.rglob("*.html")})


def test_the_check_sees_templates_and_catches_handlers():
    files = _templates()
    assert any(f.name == "detail.html" and "profiles" in f.parts for f in files)
    assert INLINE_HANDLER.search('<form method="post"\n  onsubmit="return confirm(\'x\')">')
    assert not INLINE_HANDLER.search('<form data-confirm="Delete?" class="inline">')


def test_no_template_has_inline_event_handlers_or_javascript_urls():
    offenders = []
    for path in _templates():
        text = path.read_text()
        for rx in (INLINE_HANDLER, JS_URL):
            for match in rx.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path}:{line}")
    assert not offenders, offenders
