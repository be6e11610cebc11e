"""Static secrets: tokens and API keys the operator hands out, compared in constant time.

Owns the set of accepted secrets, from ``--token``/``SSEMCP_TOKEN`` and from a token file (one
per line; ``sha256:<hex>`` lines hold a secret hashed at rest), and the principal each stands
for: the start of the secret's SHA-256, stable and non-secret. Where the secret is read from
(``Authorization: Bearer`` or an API-key header) is ``ssemcp.auth.gate``'s. Only digests are
kept; secrets never appear in a log line, a response or an exception message.

A token file is read again when it changes (checked at most every
:data:`TOKEN_FILE_CHECK_SECONDS`, on the next request), so keys rotate without a restart, as a
mounted secret (Kubernetes, Docker) is rotated: by replacing the file. A file that changes into
one that cannot be used (unreadable, a bad line, no token left) is not taken: the secrets in
use stay, and one warning says why.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

from ssemcp.auth.verifier import Refusal, RefusalReason
from ssemcp.protocol.request_context import Principal

__all__ = ["HASHED_PREFIX", "TOKEN_FILE_CHECK_SECONDS", "StaticSecrets", "principal_of"]

logger = logging.getLogger("ssemcp.auth")

# A principal is this many hex characters of the secret's SHA-256: 64 bits tell secrets apart
# in logs and session bindings, and say nothing usable about a high-entropy secret.
_PRINCIPAL_HEX_CHARS: Final = 16
# RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# A token file line holding a secret's SHA-256 rather than the secret.
HASHED_PREFIX: Final = "sha256:"
_HASHED_LINE: Final = re.compile(r"sha256:([0-9a-fA-F]{64})")
# How stale a token file may be: one stat per file per this many seconds, not per request.
TOKEN_FILE_CHECK_SECONDS: Final = 2.0

# What tells a changed file from the one read: a replaced file (a new inode, as a mounted
# secret's symlink swap or an editor's rename gives) or one written in place (mtime, size).
_FileStamp = tuple[int, int, int, int]


def _stamp(path: Path) -> _FileStamp | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)


def principal_of(token: str | bytes) -> str:
    """The stable, non-secret name of ``token``: the start of its SHA-256, in hex."""
    raw = token.encode("latin-1") if isinstance(token, str) else token
    return hashlib.sha256(raw).hexdigest()[:_PRINCIPAL_HEX_CHARS]


def _token_file_digests(path: Path) -> list[bytes]:
    """The digests of a token file: one secret or ``sha256:<hex>`` a line; blank lines and
    lines starting with ``#`` are skipped."""
    digests: list[bytes] = []
    for number, raw_line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        hashed = _HASHED_LINE.fullmatch(line)
        if hashed is not None:
            digests.append(bytes.fromhex(hashed.group(1)))
        elif line.startswith(HASHED_PREFIX):
            # The message names the line, never its content.
            raise ValueError(f"{path}:{number}: a sha256: line needs 64 hex digits")
        elif _B64TOKEN.fullmatch(line):
            digests.append(hashlib.sha256(line.encode("ascii")).digest())
        else:
            raise ValueError(
                f"{path}:{number}: a token must be 1+ characters of A-Z a-z 0-9 - . _ ~ + / "
                "optionally followed by '=' (RFC 6750 section 2.1)"
            )
    return digests


class StaticSecrets:
    """A set of accepted secrets, from tokens given once and files read again when changed.

    Args:
        tokens: accepted secrets; each must be an RFC 6750 ``b64token``.
        token_files: files of secrets (see module docstring).
        clock: seconds, monotonic; when a token file was last checked (tests pass their own).

    Raises:
        ValueError: no secret at all, or one a client could not send in a header.
        OSError: a token file cannot be read.
    """

    __slots__ = ("_checked_at", "_clock", "_digests", "_files", "_tokens")

    def __init__(
        self,
        tokens: Iterable[str] = (),
        token_files: Iterable[Path] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tokens: list[bytes] = []
        for token in tokens:
            # The message names the rule, never the token.
            if not _B64TOKEN.fullmatch(token):
                raise ValueError(
                    "a bearer token must be 1+ characters of A-Z a-z 0-9 - . _ ~ + / "
                    "optionally followed by '=' (RFC 6750 section 2.1)"
                )
            self._tokens.append(hashlib.sha256(token.encode("ascii")).digest())
        self._clock = clock
        self._files = {Path(path): _stamp(Path(path)) for path in token_files}
        self._digests = self._load()
        self._checked_at = clock()

    def _load(self) -> tuple[tuple[bytes, Principal], ...]:
        digests = list(self._tokens)
        for path in self._files:
            digests.extend(_token_file_digests(path))
        if not digests:
            raise ValueError("static authentication needs at least one token")
        # Only digests: comparing fixed-length digests leaks no secret length, and the
        # secrets themselves are not held by this object (nor shown by a debugger's repr).
        return tuple(
            (digest, Principal(digest.hex()[:_PRINCIPAL_HEX_CHARS]))
            for digest in dict.fromkeys(digests)
        )

    def _reload_if_changed(self) -> None:
        now = self._clock()
        if now - self._checked_at < TOKEN_FILE_CHECK_SECONDS:
            return
        self._checked_at = now
        stamps = {path: _stamp(path) for path in self._files}
        if stamps == self._files:
            return
        # Taken as seen now whatever the outcome: a bad file warns once, not per request.
        self._files = stamps
        try:
            digests = self._load()
        except (OSError, ValueError, UnicodeDecodeError) as error:
            logger.warning("token file not reloaded, the previous tokens stay: %s", error)
            return
        logger.info("token file(s) reloaded: %d secret(s)", len(digests))
        self._digests = digests

    def __repr__(self) -> str:
        return f"StaticSecrets(<{len(self._digests)} secret(s)>)"

    def find(self, presented: bytes) -> Principal | None:
        """The principal of ``presented`` if it is one of ours, else None."""
        if self._files:
            self._reload_if_changed()
        digest = hashlib.sha256(presented).digest()
        found: Principal | None = None
        # Compare with every secret, with no early exit, so timing does not tell which matched.
        for candidate, principal in self._digests:
            if hmac.compare_digest(digest, candidate):
                found = principal
        return found

    async def verify(self, token: str, resource: str) -> Principal | Refusal:
        """:class:`~ssemcp.auth.verifier.TokenVerifier`: a static secret names no resource."""
        found = self.find(token.encode("latin-1"))
        if found is None:
            return Refusal(RefusalReason.INVALID, "the token is not one this server accepts")
        return found

    async def aclose(self) -> None:
        return None
