"""Customer HTML (mail bodies) made safe to show: nh3 (ammonia) keeps formatting tags and drops scripts, styles,
event handlers, images from remote hosts and any URL scheme but http(s)/mailto."""

from __future__ import annotations

import nh3

_TAGS = {"a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "li", "ol", "p",
         "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u", "ul"}
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


def html_sanitize(html: str) -> str:
    """Sanitised HTML for display ("" for empty input). Links get rel="noopener noreferrer nofollow"."""
    if not html or not html.strip():
        return ""
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)
