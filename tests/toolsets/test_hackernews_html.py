"""``html_to_text``: HN's HTML fragments as readable text, one table of cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssemcp.toolsets.hackernews.html import html_to_text

CASES = [
    # (name, HN HTML, readable text)
    ("plain text", "Just words.", "Just words."),
    (
        "entities",
        "a &amp; b &lt;c&gt; &quot;d&quot; &#x27;e&#x27; &#x2F;f",
        "a & b <c> \"d\" 'e' /f",
    ),
    ("bare <p> separates paragraphs", "one<p>two<p>three", "one\n\ntwo\n\nthree"),
    ("closed <p> too (Algolia)", "<p>one</p><p>two</p>", "one\n\ntwo"),
    ("empty paragraphs collapse", "a<p></p><p><p>b", "a\n\nb"),
    (
        "link with text",
        'See <a href="https:&#x2F;&#x2F;example.com&#x2F;a?b=1&amp;c=2" rel="nofollow">'
        "the docs</a>.",
        "See [the docs](https://example.com/a?b=1&c=2).",
    ),
    (
        "link whose text is the URL",
        '<a href="https://example.com/x">https://example.com/x</a>',
        "<https://example.com/x>",
    ),
    (
        "link text shortened by HN",
        '<a href="https://example.com/a/very/long/path">https://example.com/a/very/...</a>',
        "<https://example.com/a/very/long/path>",
    ),
    ("link without href keeps its text", "<a>text</a>", "text"),
    ("italic", "This is <i>really</i> nice", "This is *really* nice"),
    ("em and strong", "<em>a</em> <strong>b</strong> <b>c</b>", "*a* **b** **c**"),
    (
        "code block keeps indentation and decodes entities",
        "Code:<p><pre><code>  if a &lt; b:\n      return a &amp;&amp; b\n</code></pre>\nDone.",
        "Code:\n\n```\n  if a < b:\n      return a && b\n```\n\nDone.",
    ),
    (
        "tags inside code are shown as their text",
        "<pre><code>x = <i>not italic</i></code></pre>",
        "```\nx = not italic\n```",
    ),
    ("unclosed code block still fenced", "<pre><code>x = 1", "```\nx = 1\n```"),
    (
        "CR and CRLF in code are line feeds",
        "<pre><code>a\r\nb\rc&#13;\nd&#x0D;</code></pre>",
        "```\na\nb\nc\nd\n```",
    ),
    (
        "a backtick run in code lengthens the fence",
        "<pre><code>```\nnot the end\n`````</code></pre>after",
        "``````\n```\nnot the end\n`````\n``````\n\nafter",
    ),
    ("unclosed link still a link", '<a href="https://e.org">e', "[e](https://e.org)"),
    ("br is a line break", "a<br>b<br/>c", "a\nb\nc"),
    (
        "a heading typed in text stays text",
        "# Not a heading<p>## Nor this",
        "\\# Not a heading\n\n\\## Nor this",
    ),
    (
        "a link definition typed in text stays text",
        "[1]: https:&#x2F;&#x2F;evil.example",
        "\\[1]: https://evil.example",
    ),
    ("a setext underline stays text", "Title<br>===<br>---", "Title\n\\===\n\\---"),
    ("a fence typed in prose stays text", "```<p>x", "\\```\n\nx"),
    ("an HTML comment typed in text stays text", "&lt;!-- hidden", "\\<!-- hidden"),
    ("a heading in a typed quote stays text", "&gt; # quoted", "> \\# quoted"),
    (
        "quotes and lists typed in text stay as they are",
        "&gt; quoted<br>- item<br>1. first",
        "> quoted\n- item\n1. first",
    ),
    (
        "a link or autolink at the start of a line stays a link",
        '<a href="https://e.org/">docs</a> here<p><a href="https://e.org/">https://e.org/</a>',
        "[docs](https://e.org/) here\n\n<https://e.org/>",
    ),
    (
        "code is never escaped",
        "<pre><code># comment\n[x]: y</code></pre>",
        "```\n# comment\n[x]: y\n```",
    ),
    ("unknown tags dropped, text kept", "<span>kept</span><script>x</script>", "keptx"),
    ("whitespace collapses outside code", "a   b\n\n  c", "a b c"),
    ("empty", "", ""),
]


@pytest.mark.parametrize(
    ("html", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_html_to_text_renders_hn_markup_readably(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_html_to_text_keeps_none() -> None:
    assert html_to_text(None) is None


@given(st.text())
def test_html_to_text_never_fails_on_any_input(fragment: str) -> None:
    text = html_to_text(fragment)
    assert text is not None
    assert "\x00" not in text  # the code-block placeholder never leaks
    assert "\r" not in text  # line ends are LF, in code too


_WORDS = st.text(
    alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=" "),
    min_size=1,
)


@given(st.lists(_WORDS))
def test_paragraphs_of_plain_text_come_back_separated_by_blank_lines(parts: list[str]) -> None:
    words = [" ".join(part.split()) for part in parts]
    words = [word for word in words if word]
    assert html_to_text("<p>".join(words)) == "\n\n".join(words)
