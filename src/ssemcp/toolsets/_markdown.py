"""The Markdown pieces every tool set's renderer shares: text cut to one line or to an
excerpt, links that cannot break, upstream text that cannot start blocks of its own, code
fences that cannot be closed early, grouped numbers, plurals, and ages.

Owns only formatting of single values; what a tool's text says, and in which order, is each
tool set's ``render.py``. Pure functions, no I/O and no clock: an age is measured from a
``now`` the caller passes in.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Final

__all__ = [
    "DAY",
    "HOUR",
    "MINUTE",
    "AgeUnits",
    "ago",
    "escape_block_start",
    "excerpt",
    "fenced",
    "grouped",
    "joined",
    "link",
    "moment",
    "one_line",
    "plural",
]

MINUTE: Final = 60
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR
# (seconds in the unit, singular, plural), largest unit first.
AgeUnits = tuple[tuple[int, str, str], ...]

# Thousands are grouped with a space ("12 345"), as SI writes numbers: no reader takes it
# for a decimal point, whatever their locale.
_THOUSANDS_SEPARATOR: Final = " "
# Characters that would end a Markdown link target early; percent-encoding keeps the URL.
_URL_ESCAPES: Final = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})
_LINK_TEXT_ESCAPES: Final = str.maketrans({"\\": "\\\\", "[": "\\[", "]": "\\]"})
# What an excerpt drops before its ellipsis unless told otherwise.
_EXCERPT_TRAILING: Final = " ,;:."
# CommonMark 0.31 section 4.5: a code fence is "at least three consecutive backtick
# characters", and the closing fence "must be at least as long as the opening fence".
_MIN_FENCE: Final = 3
_BACKTICK_RUN: Final = re.compile(r"`+")
# Container markers a block may start after (section 5): block quotes ("> ") and list
# items ("- ", "* ", "+ ", "1. ", "1) "), nested any number of times, up to 3 spaces before each.
_CONTAINERS: Final = re.compile(r"(?: {0,3}(?:>|[-+*]|[0-9]{1,9}[.)])(?:[ \t]+|$))*")
# Lines that would open a block of their own (section 4; "up to 3 spaces" everywhere):
# a thematic break or setext underline, an ATX heading, a code fence, a link reference
# definition (it vanishes from the text and redefines a link anywhere in the document), and
# an HTML block (start conditions 1 to 7, roughly: a tag, a comment, <? or <!).
_BLOCK_START: Final = re.compile(
    r"""(?P<indent>\ {0,3})(?=
        (?:([-*_=])(?:[ \t]*\2)*[ \t]*$)       # ---, ***, ___, ===, - - -
      | \#{1,6}(?:[ \t]|$)                    # # Heading
      | (?:`{3}|~{3})                         # ``` or ~~~
      | \[[^\]]*\]:                            # [label]: url
      | <(?:[A-Za-z][A-Za-z0-9-]*(?:[ \t/>]|$)|/[A-Za-z]|[!?])  # <div>, </p>, <!--, <?
    )""",
    re.VERBOSE,
)


def one_line(text: str) -> str:
    """``text`` with every run of white space (line breaks included) as one space."""
    return " ".join(text.split())


def link(text: str, url: str) -> str:
    """A Markdown link whose text cannot close the brackets or the URL the parenthesis."""
    return f"[{one_line(text).translate(_LINK_TEXT_ESCAPES)}]({url.translate(_URL_ESCAPES)})"


def escape_block_start(line: str) -> str:
    """``line`` with a backslash before the character that would make it start a Markdown
    block of its own: a heading, a thematic break or setext underline, a code fence, a link
    reference definition or an HTML block, also inside block quotes and list items. Other
    lines come back unchanged, so lists and quotes written in upstream text still read as
    such. For text from an upstream that must not forge the structure around it.

    >>> escape_block_start("# Comments")
    '\\\\# Comments'
    """
    # A whole line first ("* * *" is a thematic break, not three list markers), then what
    # follows any container markers ("> # Heading" is a heading in a quote).
    block = _BLOCK_START.match(line)
    if block is None:
        containers = _CONTAINERS.match(line)
        block = _BLOCK_START.match(line, containers.end()) if containers else None
    if block is None:
        return line
    at = block.end("indent")
    return f"{line[:at]}\\{line[at:]}"


def fenced(code: str) -> str:
    """``code`` as a fenced code block whose fence is longer than any backtick run in it, so
    no line of the code can close it (three backticks at least)."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(code)), default=0)
    fence = "`" * max(_MIN_FENCE, longest + 1)
    return f"{fence}\n{code}\n{fence}"


def excerpt(
    text: str,
    limit: int,
    *,
    trailing: str = _EXCERPT_TRAILING,
    keep_word_ending_at_cut: bool = False,
) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters.

    A cut text ends in "…", after dropping any of the ``trailing`` characters before it.

    Args:
        keep_word_ending_at_cut: keep the last word when the cut falls right after it;
            otherwise the cut always goes back to the previous space.
    """
    flat = one_line(text)
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    word_ends_at_cut = keep_word_ending_at_cut and flat[limit - 1] == " "
    if not word_ends_at_cut and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(trailing) + "…"


def grouped(count: int) -> str:
    """ "12 345": thousands grouped by a space."""
    return f"{count:,}".replace(",", _THOUSANDS_SEPARATOR)


def plural(
    count: int,
    singular: str,
    plural: str | None = None,
    *,
    number: Callable[[int], str] = str,
) -> str:
    """ "1 comment", "3 comments", "2 repositories": the count as ``number`` writes it,
    then the noun (``singular`` + "s" unless ``plural`` is given)."""
    return f"{number(count)} {singular if count == 1 else (plural or singular + 's')}"


def joined(*parts: str | None, separator: str = ", ") -> str | None:
    """The parts that are present (not None, not empty) joined; None if there are none."""
    present = [part for part in parts if part]
    return separator.join(present) if present else None


def moment(iso: str | None) -> datetime.datetime | None:
    """An ISO 8601 time as an aware datetime (UTC if it names no offset); None if absent
    or unreadable."""
    if iso is None:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def ago(seconds: int, units: AgeUnits) -> str | None:
    """ "4 days ago": ``seconds`` counted in the largest of ``units`` that fits, rounded
    down; None if ``seconds`` is less than the smallest unit."""
    for unit_seconds, singular, plural_name in units:
        if seconds >= unit_seconds:
            count = seconds // unit_seconds
            return f"{count} {singular if count == 1 else plural_name} ago"
    return None
