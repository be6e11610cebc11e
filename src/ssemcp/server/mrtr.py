"""Multi round-trip requests (MCP 2026-07-28, basic/patterns/mrtr): how a handler that asks the
client something is served without a session.

Owns :class:`InputRound`, the channel of a request that stands alone. A handler asks as it
does in a session (``await ctx.elicit(...)``, ``ctx.sample``, ``ctx.list_roots``); here the
question cannot be pushed, so the round ends with an ``InputRequiredResult`` naming every
question asked so far, and a sealed ``requestState`` (``ssemcp.protocol.request_state``). The
client retries the request with ``inputResponses``; the handler is then **run again from its
start**, and each question already answered returns its answer at once, until one is not.
So a handler's work before its last question runs once per round: keep it free of side effects
there, or ask first. Questions are keyed by ``key=`` when given, else by their kind and order
(``elicitation-1``, ``sampling-1``, ``roots-2``), which a handler that asks the same questions in
the same order keeps from round to round. Questions asked together (``asyncio.gather``) go out
in one round.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import (
    CapabilityNotSupported,
    InvalidParams,
    MethodNotFound,
    RequestError,
)
from ssemcp.jsonrpc import Request
from ssemcp.protocol.request_context import RequestContext
from ssemcp.protocol.request_state import RequestStateKeys, binding_of
from ssemcp.server.client_results import ElicitResult, SamplingResult
from ssemcp.server.context import InputRequired, Send

__all__ = ["ASKING_METHODS", "InputRequired", "InputRound"]

# basic/patterns/mrtr: "Servers MUST NOT send InputRequiredResult responses on any other
# client requests."
ASKING_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})
# The answers of a first round: none (shared, never written: a retry makes its own dict).
_NOTHING: Final[JSONObject] = {}


def _check_answer(method: str, key: str, answer: JSONValue) -> None:
    """Refuse an answer that is not the result its question asks for (basic/patterns/mrtr:
    servers "SHOULD validate that the data provided by the client is a valid InputResponses
    object")."""
    try:
        if method == "elicitation/create":
            ElicitResult.from_json(answer)
        elif method == "sampling/createMessage":
            SamplingResult.from_json(answer)
        elif type(answer) is not dict or type(answer.get("roots")) is not list:
            raise RequestError('a ListRootsResult has a "roots" list')
    except RequestError as exc:
        raise InvalidParams(f'Invalid params: inputResponses["{key}"]: {exc}') from None


class InputRound:
    """One round of a request that stands alone, as its handler's channel to the client.

    Args:
        request: the request, with any ``inputResponses`` and ``requestState`` of a retry.
        context: what it is served under (the principal binds the state).
        keys: the keys that seal and open request states.
        clock: wall-clock seconds (replicas must agree on a state's expiry); read only when a
            state is opened or sealed, so a round that asks nothing costs no clock.

    Raises:
        InvalidParams: a ``requestState`` that is not ours, is another request's, or expired;
            ``inputResponses`` that is not an object.
    """

    # Built for every request that stands alone, most of which ask nothing and carry no
    # retry: slotted, and what only a retry or a question needs is made by them.
    __slots__ = (
        "_answers",
        "_asked",
        "_bound_to",
        "_clock",
        "_context",
        "_counts",
        "_keys",
        "_request",
    )

    def __init__(
        self,
        request: Request,
        context: RequestContext,
        keys: RequestStateKeys,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._request = request
        self._context = context
        self._keys = keys
        self._clock = clock
        # Computed when a state is opened or sealed: a round that asks nothing needs none.
        self._bound_to: str | None = None
        # Answers carried by the state, then this retry's answers to the questions the last
        # round asked ("the server SHOULD ignore" keys it did not ask).
        self._answers: JSONObject = _NOTHING
        # The questions of this round, and how many of each kind it asked (send_request).
        self._asked: dict[str, JSONObject] | None = None
        self._counts: dict[str, int] | None = None
        params = request.params
        if params is not None and ("requestState" in params or "inputResponses" in params):
            self._open_retry(params)

    def _open_retry(self, params: JSONObject) -> None:
        """Open a retry's ``requestState`` and take its ``inputResponses`` to the questions the
        last round left pending."""
        pending: dict[str, str] = {}
        state = params.get("requestState")
        if state is not None:
            opened = self._keys.open(state, self._binding(), self._clock())
            answers = opened.get("answers")
            pending_in_state = opened.get("pending")
            if type(answers) is dict:
                self._answers = answers
            if type(pending_in_state) is dict:
                pending = {str(key): str(method) for key, method in pending_in_state.items()}
        responses = params.get("inputResponses")
        if responses is not None:
            if type(responses) is not dict:
                raise InvalidParams('Invalid params: "inputResponses" must be an object')
            for key, method in pending.items():
                if key in responses:
                    _check_answer(method, key, responses[key])
                    if self._answers is _NOTHING:
                        self._answers = {}
                    self._answers[key] = responses[key]

    def _binding(self) -> str:
        if self._bound_to is None:
            params = self._request.params or {}
            name = params.get("uri" if self._request.method == "resources/read" else "name")
            self._bound_to = binding_of(
                self._request.method,
                name if type(name) is str else None,
                params.get("arguments"),
                self._context.principal,
            )
        return self._bound_to

    async def send_request(
        self,
        method: str,
        params: JSONObject | None,
        *,
        send: Send | None = None,
        timeout_seconds: float | None = None,
        key: str | None = None,
    ) -> JSONValue:
        """The client's answer to this question if a retry brought it; else the question is
        noted and the round ends (:class:`InputRequired`).

        Raises:
            MissingRequiredClientCapability: the client did not declare what it needs
                (``RequestContext.check_client_request``).
            CapabilityNotSupported: the method cannot ask (not a tool, prompt or read), or
                ``method`` is not a question a server may ask.
        """
        if self._request.method not in ASKING_METHODS:
            raise CapabilityNotSupported(f"{method} cannot be asked during {self._request.method}")
        capability = self._context.check_client_request(method)
        assert capability is not None  # every request the revision lets a server send needs one
        if key is None:
            counts = self._counts
            if counts is None:
                counts = self._counts = {}
            count = counts[capability] = counts.get(capability, 0) + 1
            key = f"{capability}-{count}"
        if key in self._answers:
            return self._answers[key]
        if self._asked is None:
            self._asked = {}
        self._asked[key] = {"method": method, "params": params or {}}
        # Questions started together (asyncio.gather) each get to note theirs before the
        # first one ends the round.
        await asyncio.sleep(0)
        raise InputRequired(key)

    def subscribe(self, uri: str) -> None:
        raise MethodNotFound("Method not found: resources/subscribe needs a session")

    def unsubscribe(self, uri: str) -> None:
        raise MethodNotFound("Method not found: resources/unsubscribe needs a session")

    def input_required_result(self) -> JSONObject:
        """The ``InputRequiredResult`` that ends this round: every question asked and not
        answered, and the state that brings the answers so far back."""
        asked = self._asked or {}
        pending = {key: str(question["method"]) for key, question in asked.items()}
        state = self._keys.seal(
            self._binding(),
            {"answers": self._answers, "pending": pending},  # type: ignore[dict-item]
            self._clock(),
        )
        return {
            "resultType": "input_required",
            "inputRequests": asked,  # type: ignore[dict-item]
            "requestState": state,
        }
