"""Turning what a handler returned into the result object of its method. No I/O.

Owns the conversions: a tool's return value into ``CallToolResult`` (content blocks plus
``structuredContent``), a prompt's into ``GetPromptResult``, a resource handler's into
``ReadResourceResult``; each shaped for the negotiated revision.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import pydantic_core

from ssemcp._types import JSONObject, JSONValue
from ssemcp.jsonrpc import dumps
from ssemcp.protocol.revisions import Revision, shape_content
from ssemcp.server.content import (
    CONTENT_TYPES,
    EmbeddedResource,
    PromptMessage,
    PromptResult,
    ResourceContents,
    ToolResult,
)
from ssemcp.server.schema import OutputPlan

__all__ = ["error_result", "prompt_result", "resource_result", "tool_result"]


def to_jsonable(value: object) -> JSONValue:
    """Plain JSON for any value pydantic can serialize (models, dataclasses, datetimes ...)."""
    return pydantic_core.to_jsonable_python(value)  # type: ignore[no-any-return]


def _block(item: object) -> JSONObject:
    if isinstance(item, str):
        return {"type": "text", "text": item}
    if isinstance(item, CONTENT_TYPES):
        return item.to_json()
    if isinstance(item, dict) and isinstance(item.get("type"), str):
        return item
    return {"type": "text", "text": dumps(to_jsonable(item)).decode()}


def content_blocks(value: object) -> list[JSONObject]:
    """The content blocks for a handler's return value."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_block(item) for item in value]
    return [_block(value)]


def error_result(message: str) -> JSONObject:
    """A ``CallToolResult`` that reports a failed call to the model."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


def tool_result(value: Any, output: OutputPlan | None, revision: Revision) -> JSONObject:
    """The ``CallToolResult`` for a tool's return value.

    Raises:
        pydantic.ValidationError: the value does not match the tool's output schema.
    """
    if type(value) is str and output is None:
        # The commonest result, one text block, which every revision reads as it is.
        return {"content": [{"type": "text", "text": value}]}
    structured: JSONObject | None = None
    meta: JSONObject | None = None
    is_error = False
    if isinstance(value, ToolResult):
        blocks = content_blocks(list(value.content))
        if value.structured is not None:
            # Validated against the tool's output type when it has one: spec server/tools
            # says structured results "MUST conform to this schema".
            structured = (
                output.structured(value.structured)
                if output is not None and not value.is_error
                else _as_object(value.structured)
            )
        is_error = value.is_error
        meta = value.meta
    elif output is not None:
        structured = output.structured(value)
        # spec server/tools, "Structured Content": "a tool that returns structured content
        # SHOULD also return the serialized JSON in a TextContent block".
        blocks = [{"type": "text", "text": dumps(structured).decode()}]
    else:
        blocks = content_blocks(value)
    result: JSONObject = {"content": [shape_content(block, revision) for block in blocks]}
    if structured is not None and revision.structured_content:
        result["structuredContent"] = structured
    if is_error:
        result["isError"] = True
    if meta:
        result["_meta"] = meta
    return result


def _as_object(value: object) -> JSONObject:
    jsonable = to_jsonable(value)
    if not isinstance(jsonable, dict):
        raise TypeError("structuredContent must be a JSON object")
    return jsonable


def _prompt_message(item: object, revision: Revision) -> JSONObject:
    if isinstance(item, PromptMessage):
        return {"role": item.role, "content": shape_content(_block(item.content), revision)}
    if isinstance(item, dict) and "role" in item:
        return item
    return {"role": "user", "content": shape_content(_block(item), revision)}


def prompt_result(value: object, revision: Revision) -> JSONObject:
    """The ``GetPromptResult`` for a prompt's return value."""
    description: str | None = None
    meta: JSONObject | None = None
    if isinstance(value, PromptResult):
        description, meta = value.description, value.meta
        items: Sequence[object] = value.messages
    elif isinstance(value, list | tuple):
        items = value
    else:
        items = [value]
    result: JSONObject = {"messages": [_prompt_message(item, revision) for item in items]}
    if description is not None:
        result["description"] = description
    if meta:
        result["_meta"] = meta
    return result


def _contents(uri: str, value: object, mime_type: str | None) -> JSONObject:
    if isinstance(value, ResourceContents):
        return value.to_json()
    if isinstance(value, EmbeddedResource):
        return value.resource.to_json()
    if isinstance(value, str):
        return {"uri": uri, "mimeType": mime_type or "text/plain", "text": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {
            "uri": uri,
            "mimeType": mime_type or "application/octet-stream",
            "blob": base64.b64encode(value).decode("ascii"),
        }
    text = dumps(to_jsonable(value)).decode()
    return {"uri": uri, "mimeType": mime_type or "application/json", "text": text}


def resource_result(uri: str, value: object, mime_type: str | None) -> JSONObject:
    """The ``ReadResourceResult`` for a resource handler's return value."""
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(item, ResourceContents) for item in value)
    ):
        return {"contents": [item.to_json() for item in value]}
    return {"contents": [_contents(uri, value, mime_type)]}
