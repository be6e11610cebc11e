"""The sealed ``requestState`` of a multi round-trip request (MCP 2026-07-28, MRTR). No I/O.

Owns turning what a request has gathered so far (the client's answers to earlier rounds) into
the opaque string the client echoes on its retry, and back: authenticated with HMAC-SHA256
under the first of a list of keys (any key of the list opens, so keys rotate), bound to the
request it belongs to (method, tool/prompt name or URI, a digest of its arguments, principal)
and to a deadline. basic/patterns/mrtr: servers "MUST treat requestState as an
attacker-controlled input", "MUST protect its integrity (e.g. HMAC or AEAD) and MUST reject
state that fails verification", and SHOULD embed the principal, a short expiry and the
originating request. The state is signed, not encrypted: the client may read its own answers.
Time comes in as an argument.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Final

import orjson

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import InvalidParams
from ssemcp.protocol.request_context import Principal

__all__ = [
    "DEFAULT_STATE_TTL_SECONDS",
    "MAX_STATE_BYTES",
    "RequestStateKeys",
    "binding_of",
]

# Long enough for a person to answer an elicitation form, short enough that a leaked state
# is soon worthless.
DEFAULT_STATE_TTL_SECONDS: Final = 600.0
# A state carries the client's answers back to it; this bounds what a round may cost to read.
MAX_STATE_BYTES: Final = 256 * 1024
_VERSION: Final = 1
# 32 random bytes: HMAC-SHA256's block-size-independent key strength.
_KEY_BYTES: Final = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def binding_of(
    method: str, name: str | None, arguments: JSONValue, principal: Principal | None
) -> str:
    """What a state is bound to: the request's method, name or URI, a digest of its
    arguments, and who sent it. A state is refused for any other request."""
    digest = hashlib.sha256(orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)).hexdigest()
    # The subject and its issuer, as sessions are bound: a refreshed token of the same
    # subject may answer, another subject's may not.
    who = None if principal is None else [principal.issuer, principal.subject]
    return hashlib.sha256(
        orjson.dumps([method, name, digest, who], option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


class RequestStateKeys:
    """The keys that seal and open request states: the first seals, every one opens.

    Args:
        keys: secret keys, newest first (at least one; each at least 16 bytes). Replicas that
            share them can each take the next round of another's request.
        ttl_seconds: how long a sealed state may be used.

    Raises:
        ValueError: no key, or a key shorter than 16 bytes.
    """

    __slots__ = ("_keys", "ttl_seconds")

    def __init__(
        self, keys: Sequence[bytes], *, ttl_seconds: float = DEFAULT_STATE_TTL_SECONDS
    ) -> None:
        if not keys or any(len(key) < 16 for key in keys):
            raise ValueError("request state keys: at least one, each of 16 bytes or more")
        self._keys = tuple(keys)
        self.ttl_seconds = ttl_seconds

    @classmethod
    def random(cls) -> RequestStateKeys:
        """One key made for this process: states do not survive a restart (the spec allows
        this where tampering "can cause nothing worse than request failure")."""
        return cls([secrets.token_bytes(_KEY_BYTES)])

    def seal(self, binding: str, answers: JSONObject, now: float) -> str:
        """The ``requestState`` carrying ``answers`` for the request of ``binding``."""
        payload = orjson.dumps(
            {"v": _VERSION, "b": binding, "exp": now + self.ttl_seconds, "r": answers}
        )
        mac = hmac.new(self._keys[0], payload, hashlib.sha256).digest()
        return _b64(payload) + "." + _b64(mac)

    def open(self, state: object, binding: str, now: float) -> JSONObject:
        """The answers a ``requestState`` carries, once it is proven ours, for this request,
        and in time.

        Raises:
            InvalidParams: malformed, sealed by no key of ours (tampered, or foreign),
                sealed for another request, or expired.
        """
        if type(state) is not str or len(state) > MAX_STATE_BYTES:
            raise InvalidParams('Invalid params: "requestState" is not a state this server made')
        encoded_payload, _, encoded_mac = state.partition(".")
        try:
            payload = _unb64(encoded_payload)
            mac = _unb64(encoded_mac)
        except (ValueError, TypeError):
            raise InvalidParams(
                'Invalid params: "requestState" is not a state this server made'
            ) from None
        if not any(
            hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest())
            for key in self._keys
        ):
            raise InvalidParams('Invalid params: "requestState" failed its integrity check')
        content = orjson.loads(payload)
        if type(content) is not dict or content.get("v") != _VERSION:
            raise InvalidParams('Invalid params: "requestState" is of another version')
        if content.get("b") != binding:
            raise InvalidParams('Invalid params: "requestState" belongs to another request')
        expires = content.get("exp")
        if not isinstance(expires, int | float) or expires <= now:
            raise InvalidParams('Invalid params: "requestState" has expired; send the request anew')
        answers = content.get("r")
        return answers if type(answers) is dict else {}
