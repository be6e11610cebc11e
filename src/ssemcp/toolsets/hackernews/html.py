"""HN's HTML fragments (comment and story ``text``) as readable Markdown-flavoured text.

Owns one conversion, built on the stdlib ``html.parser`` (never regexes over HTML):
entities decoded, ``<p>`` paragraphs as blank lines, ``<a href>`` as Markdown links,
``<pre><code>`` as fenced code blocks, ``<i>`` / ``<em>`` as *italic*, ``<b>`` / ``<strong>``
as **bold**; any other tag is dropped and its text kept. HN's markup is the small set its
formatting help lists (https://news.ycombinator.com/formatdoc); paragraphs are separated by a
bare ``<p>`` with no closing tag. The text is what a user wrote, so it must not forge the
Markdown around it: a code block's fence outgrows any backtick run inside it, and a prose line
that would start a heading, a fence, a link definition or an HTML block is escaped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

from ssemcp.toolsets._markdown import escape_block_start, fenced

__all__ = ["html_to_text"]

# Runs of whitespace inside running text collapse as a browser would show them.
_WHITESPACE: Final = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_LINES: Final = re.compile(r"\n{3,}")
_PARAGRAPH_TAGS: Final = frozenset({"p", "div", "blockquote", "ul", "ol", "li"})
_ITALIC_TAGS: Final = frozenset({"i", "em"})
_BOLD_TAGS: Final = frozenset({"b", "strong"})
# Stands in for a code block while the prose around it is tidied (code keeps its spacing).
_MARKER: Final = "\x00"


def _code_marker(index: int) -> str:
    return f"{_MARKER}{index}{_MARKER}"


class _TextBuilder(HTMLParser):
    """Collects output pieces as the parser walks the fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        # Finished code blocks; the prose holds a placeholder for each (see _code_marker).
        self.code_blocks: list[str] = []
        self._pre_depth = 0
        self._code: list[str] = []
        # Open links: (href, index in pieces where the link text starts).
        self._links: list[tuple[str, int]] = []

    # ------------------------------------------------------------------ helpers

    def _paragraph_break(self) -> None:
        if self.pieces:
            self.pieces.append("\n\n")

    def _end_code(self) -> None:
        self._pre_depth = 0
        # Code keeps its spacing, but not a CR (a CRLF pasted from Windows): CommonMark takes
        # CR, LF and CRLF alike as line endings, and a stray CR shows as a break in some
        # readers and as nothing in others.
        code = "".join(self._code).replace("\r\n", "\n").replace("\r", "\n")
        self.code_blocks.append(code.strip("\n"))
        self.pieces.append(_code_marker(len(self.code_blocks) - 1))
        self._paragraph_break()

    # ------------------------------------------------------------------ events

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._pre_depth:
            if tag == "pre":
                self._pre_depth += 1
            return  # markup inside code is shown as the text it holds
        if tag == "pre":
            self._pre_depth = 1
            self._code = []
            self._paragraph_break()
        elif tag in _PARAGRAPH_TAGS:
            self._paragraph_break()
        elif tag == "br":
            self.pieces.append("\n")
        elif tag in _ITALIC_TAGS:
            self.pieces.append("*")
        elif tag in _BOLD_TAGS:
            self.pieces.append("**")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self._links.append((href, len(self.pieces)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self._pre_depth:
            self.pieces.append("\n")
        elif tag in _PARAGRAPH_TAGS and not self._pre_depth:
            self._paragraph_break()

    def handle_endtag(self, tag: str) -> None:
        if self._pre_depth:
            if tag == "pre":
                self._pre_depth -= 1
                if not self._pre_depth:
                    self._end_code()
            return
        if tag in _PARAGRAPH_TAGS:
            self._paragraph_break()
        elif tag in _ITALIC_TAGS:
            self.pieces.append("*")
        elif tag in _BOLD_TAGS:
            self.pieces.append("**")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            text = "".join(self.pieces[start:]).strip()
            del self.pieces[start:]
            self.pieces.append(_link(text, href))

    def handle_data(self, data: str) -> None:
        data = data.replace(_MARKER, "")
        if self._pre_depth:
            self._code.append(data)
        else:
            self.pieces.append(_WHITESPACE.sub(" ", data))

    def close(self) -> None:
        super().close()
        # An unclosed <pre> (truncated text) still shows its code; unclosed links their text.
        if self._pre_depth:
            self._end_code()
        while self._links:
            href, start = self._links.pop()
            text = "".join(self.pieces[start:]).strip()
            del self.pieces[start:]
            self.pieces.append(_link(text, href))


def _link(text: str, href: str) -> str:
    if not href:
        return text
    # HN shortens long link texts to a prefix plus "..."; the URL says it all then.
    if not text or text == href or (text.endswith("...") and href.startswith(text[:-3])):
        return f"<{href}>"
    return f"[{text}]({href})"


def html_to_text(fragment: str | None) -> str | None:
    """Readable text for an HN HTML fragment; ``None`` stays ``None``.

    >>> html_to_text("Yes &amp; no<p>See <a href=\\"https://x.org/a\\">docs</a>")
    'Yes & no\\n\\nSee [docs](https://x.org/a)'
    """
    if fragment is None:
        return None
    builder = _TextBuilder()
    builder.feed(fragment)
    builder.close()
    prose = "".join(builder.pieces)
    # Tidy the seams between pieces: spaces next to line breaks, runs of blank lines.
    prose = "\n".join(escape_block_start(line.strip()) for line in prose.split("\n"))
    prose = _BLANK_LINES.sub("\n\n", prose).strip()
    for index, code in enumerate(builder.code_blocks):
        prose = prose.replace(_code_marker(index), fenced(code), 1)
    return prose
