"""The axe-core helper of the browser tests reports what it should (so a clean result means something)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import axe_violations

pytestmark = pytest.mark.browser


def test_axe_violations_reports_serious_problems_and_ignores_a_clean_page(browser_page):
    page = browser_page
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><h1>Form</h1>'
                     '<input type="text"><p style="color:#777;background:#888">faint</p></main></body></html>')
    found = axe_violations(page)
    assert any(v.startswith("label (critical)") for v in found), found
    assert any(v.startswith("color-contrast (serious)") for v in found), found
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><h1>Form</h1>'
                     '<label for="q">Search</label><input id="q" type="text"></main></body></html>')
    assert axe_violations(page) == []
