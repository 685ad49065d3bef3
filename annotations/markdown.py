"""Project instructions: Markdown rendered to HTML that is safe to insert into the page.

markdown-it (CommonMark) with raw HTML off escapes every tag the author types, so a `<script>`
arrives as text; its link validator drops `javascript:`, `vbscript:`, `file:` and `data:` links
(they render as plain text). Every link opens with rel="noopener noreferrer" so the page it opens
cannot reach back into the workspace through window.opener.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable("table")


def _link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer")
    tokens[idx].attrSet("target", "_blank")
    return str(renderer.renderToken(tokens, idx, options, env))


_md.add_render_rule("link_open", _link_open)


def render_instructions(text: str) -> str:
    return str(_md.render(text or ""))
