"""What the client answers a handler: ``SamplingResult`` and ``ElicitResult``.

Owns reading the client's ``CreateMessageResult`` (spec 2025-11-25 client/sampling) and
``ElicitResult`` (client/elicitation) into frozen values, and refusing an answer that breaks
their schema with a ``RequestError`` that says what is wrong. Sending the requests and waiting
for the answers is :class:`~ssemcp.server.context.Context`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, get_args

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import RequestError

__all__ = ["ElicitAction", "ElicitResult", "SamplingResult"]

ElicitAction: TypeAlias = Literal["accept", "decline", "cancel"]
_ELICIT_ACTIONS: Final = frozenset(get_args(ElicitAction))
# spec 2025-11-25 schema, ``Role``: "The sender or recipient of messages and data in a
# conversation."
_ROLES: Final = frozenset({"user", "assistant"})


def _refuse(method: str, problem: str) -> RequestError:
    return RequestError(f"the client's answer to {method} {problem}")


@dataclass(frozen=True, slots=True)
class SamplingResult:
    """The client's answer to ``sampling/createMessage``.

    Attributes:
        role: who the message is from, almost always ``"assistant"``.
        content: the content blocks as sent (``{"type": "text", "text": ...}``, images,
            audio, and from 2025-11-25 tool use); a single block arrives as a 1-tuple.
        model: the name of the model that answered.
        stop_reason: why it stopped (``endTurn``, ``stopSequence``, ``maxTokens``,
            ``toolUse``, or the client's own word); None if the client did not say.
    """

    role: Literal["user", "assistant"]
    content: tuple[JSONObject, ...]
    model: str
    stop_reason: str | None = None

    @property
    def text(self) -> str:
        """The text blocks' text, one per line; empty when there is none (an image)."""
        texts = (block.get("text") for block in self.content if block.get("type") == "text")
        return "\n".join(text for text in texts if isinstance(text, str))

    @classmethod
    def from_json(cls, result: JSONValue) -> SamplingResult:
        """Read a ``CreateMessageResult``.

        Raises:
            RequestError: it lacks ``role``, ``content`` or ``model``, or one has the wrong
                type (spec 2025-11-25 schema, ``CreateMessageResult``).
        """
        method = "sampling/createMessage"
        if not isinstance(result, dict):
            raise _refuse(method, "is not an object")
        role = result.get("role")
        if role not in _ROLES:
            raise _refuse(method, 'has no "role" of "user" or "assistant"')
        content = result.get("content")
        # 2025-11-25: "content: SamplingContent | SamplingContent[]".
        blocks = content if isinstance(content, list) else [content]
        if not all(isinstance(block, dict) for block in blocks):
            raise _refuse(method, 'has no "content" block (an object, or a list of them)')
        model = result.get("model")
        if not isinstance(model, str):
            raise _refuse(method, 'has no "model" string')
        stop_reason = result.get("stopReason")
        if stop_reason is not None and not isinstance(stop_reason, str):
            raise _refuse(method, 'has a "stopReason" that is not a string')
        return cls(
            role=role,  # type: ignore[arg-type]  # checked against _ROLES above
            content=tuple(block for block in blocks if isinstance(block, dict)),
            model=model,
            stop_reason=stop_reason,
        )


@dataclass(frozen=True, slots=True)
class ElicitResult:
    """The client's answer to ``elicitation/create``.

    Attributes:
        action: ``"accept"`` (the user submitted the form), ``"decline"`` (refused) or
            ``"cancel"`` (dismissed it without choosing).
        content: the submitted values, by the requested schema's property names; None
            unless the action is ``"accept"``.
    """

    action: ElicitAction
    content: JSONObject | None = None

    @property
    def accepted(self) -> bool:
        return self.action == "accept"

    @classmethod
    def from_json(cls, result: JSONValue) -> ElicitResult:
        """Read an ``ElicitResult``.

        Raises:
            RequestError: no valid ``action``, or a ``content`` that is not an object.
        """
        method = "elicitation/create"
        if not isinstance(result, dict):
            raise _refuse(method, "is not an object")
        action = result.get("action")
        if action not in _ELICIT_ACTIONS:
            raise _refuse(method, 'has no "action" of "accept", "decline" or "cancel"')
        content = result.get("content")
        if content is not None and not isinstance(content, dict):
            raise _refuse(method, 'has a "content" that is not an object')
        # spec 2025-11-25 client/elicitation, "Response Actions": on accept "The `content`
        # field contains the submitted data"; on decline and cancel it "is typically omitted".
        return cls(
            action=action,  # type: ignore[arg-type]  # checked against _ELICIT_ACTIONS above
            content=content if action == "accept" else None,
        )
