"""Model output to safe HTML: Markdown rendered with raw HTML disabled, then an allow-list sanitiser.

Two independent layers, because model output is untrusted: markdown-it-py never passes HTML
through (``html=False``) and refuses ``javascript:``/``vbscript:``/``data:`` link targets; nh3
(the Rust ``ammonia`` sanitiser) then keeps only the tags and attributes listed here and only
http(s)/mailto URLs, whatever the renderer produced. Pages also send a strict CSP (see
:mod:`symposia.web.security`), a third layer.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "URL_SCHEMES", "markdown_to_html", "sanitize_html"]

ALLOWED_TAGS: frozenset[str] = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
    "strong", "em", "del", "s", "code", "pre", "a", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {"a": frozenset({"href", "title"}), "ol": frozenset({"start"})}
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

# No images: a remote image in an answer would be a tracking request (CSP's img-src blocks it too).
_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable(["table", "strikethrough"])


def sanitize_html(html: str) -> Markup:
    """Keep only the allow-listed tags, attributes and URL schemes; the result is safe to embed."""
    return Markup(_cleaner.clean(html))  # noqa: S704 - this is the sanitiser


def markdown_to_html(text: str) -> Markup:
    """Render GFM-ish Markdown (tables, strikethrough) to sanitised HTML."""
    html = _md.render(text)
    # Our transcripts write line breaks inside table cells as a literal "<br>" (GFM has no other
    # way); with raw HTML disabled it arrives escaped. Turning that one escaped tag back into <br>
    # is harmless (br carries no attributes and is allow-listed anyway).
    html = html.replace("&lt;br&gt;", "<br>")
    return sanitize_html(html)
