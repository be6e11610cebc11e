"""What a state URL and key prefix may be: checked before anything connects (the command
line checks them too), with no import of the ``redis`` client."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["DEFAULT_PREFIX", "check_prefix", "check_url"]

DEFAULT_PREFIX: Final = "ssemcp"
_SCHEMES: Final = ("redis://", "rediss://", "unix://")
# Letters, digits and a few separators: the prefix is part of every key and channel name.
_PREFIX_PATTERN: Final = re.compile(r"[A-Za-z0-9_.:{}-]{1,64}")


def check_url(url: str) -> str:
    """``url`` if it names a Redis server, else ValueError (a clear message for the flag)."""
    if not url.startswith(_SCHEMES):
        raise ValueError(f"a state URL is redis://HOST:PORT/DB (or rediss://, unix://): {url!r}")
    return url


def check_prefix(prefix: str) -> str:
    """``prefix`` if it may begin every key and channel, else ValueError."""
    if not _PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(
            "a state prefix is 1 to 64 letters, digits or any of _ . : { } -: " + repr(prefix)
        )
    return prefix
