"""What handlers may return: content blocks, tool results, prompt messages, resource contents.

Owns the small value types a handler builds and the one rule for turning each into its wire
object (``to_json``). Plain ``str`` and ``bytes`` are accepted everywhere a block is, and a
``dict`` with a ``"type"`` key passes through as an already-built block.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from ssemcp._types import JSONObject, JSONValue

__all__ = [
    "Audio",
    "ContentBlock",
    "EmbeddedResource",
    "Icon",
    "Image",
    "PromptMessage",
    "PromptResult",
    "ResourceContents",
    "ResourceLink",
    "Text",
    "ToolAnnotations",
    "ToolResult",
]


def _b64(data: bytes | str) -> str:
    return data if isinstance(data, str) else base64.b64encode(data).decode("ascii")


def _with_common(
    obj: JSONObject, annotations: JSONObject | None, meta: JSONObject | None
) -> JSONObject:
    if annotations:
        obj["annotations"] = annotations
    if meta:
        obj["_meta"] = meta
    return obj


@dataclass(frozen=True, slots=True)
class Text:
    """A text content block."""

    text: str
    annotations: JSONObject | None = None
    meta: JSONObject | None = None

    def to_json(self) -> JSONObject:
        return _with_common({"type": "text", "text": self.text}, self.annotations, self.meta)


@dataclass(frozen=True, slots=True)
class Image:
    """An image content block; ``data`` is raw bytes or already base64-encoded text."""

    data: bytes | str
    mime_type: str
    annotations: JSONObject | None = None
    meta: JSONObject | None = None

    def to_json(self) -> JSONObject:
        obj: JSONObject = {"type": "image", "data": _b64(self.data), "mimeType": self.mime_type}
        return _with_common(obj, self.annotations, self.meta)


@dataclass(frozen=True, slots=True)
class Audio:
    """An audio content block (2025-03-26 and later; older clients get a text note)."""

    data: bytes | str
    mime_type: str
    annotations: JSONObject | None = None
    meta: JSONObject | None = None

    def to_json(self) -> JSONObject:
        obj: JSONObject = {"type": "audio", "data": _b64(self.data), "mimeType": self.mime_type}
        return _with_common(obj, self.annotations, self.meta)


@dataclass(frozen=True, slots=True)
class ResourceContents:
    """The contents of one resource: ``text`` or ``blob`` (bytes), never both."""

    uri: str
    text: str | None = None
    blob: bytes | None = None
    mime_type: str | None = None
    meta: JSONObject | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.blob is None):
            raise ValueError("ResourceContents needs exactly one of text and blob")

    def to_json(self) -> JSONObject:
        obj: JSONObject = {"uri": self.uri}
        if self.mime_type is not None:
            obj["mimeType"] = self.mime_type
        if self.text is not None:
            obj["text"] = self.text
        else:
            assert self.blob is not None
            obj["blob"] = _b64(self.blob)
        if self.meta:
            obj["_meta"] = self.meta
        return obj


@dataclass(frozen=True, slots=True)
class EmbeddedResource:
    """A resource embedded in a tool result or prompt message."""

    resource: ResourceContents
    annotations: JSONObject | None = None
    meta: JSONObject | None = None

    def to_json(self) -> JSONObject:
        obj: JSONObject = {"type": "resource", "resource": self.resource.to_json()}
        return _with_common(obj, self.annotations, self.meta)


@dataclass(frozen=True, slots=True)
class ResourceLink:
    """A link to a resource the client may read (2025-06-18 and later)."""

    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: JSONObject | None = None
    meta: JSONObject | None = None

    def to_json(self) -> JSONObject:
        obj: JSONObject = {"type": "resource_link", "uri": self.uri, "name": self.name}
        if self.title is not None:
            obj["title"] = self.title
        if self.description is not None:
            obj["description"] = self.description
        if self.mime_type is not None:
            obj["mimeType"] = self.mime_type
        if self.size is not None:
            obj["size"] = self.size
        return _with_common(obj, self.annotations, self.meta)


ContentBlock: TypeAlias = Text | Image | Audio | EmbeddedResource | ResourceLink
CONTENT_TYPES = (Text, Image, Audio, EmbeddedResource, ResourceLink)


@dataclass(frozen=True, slots=True)
class Icon:
    """An icon for a server, tool, resource or prompt (2025-11-25)."""

    src: str
    mime_type: str | None = None
    sizes: Sequence[str] | None = None
    theme: Literal["light", "dark"] | None = None

    def to_json(self) -> JSONObject:
        obj: JSONObject = {"src": self.src}
        if self.mime_type is not None:
            obj["mimeType"] = self.mime_type
        if self.sizes is not None:
            obj["sizes"] = list(self.sizes)
        if self.theme is not None:
            obj["theme"] = self.theme
        return obj


@dataclass(frozen=True, slots=True)
class ToolAnnotations:
    """Hints about a tool's behaviour (spec server/tools, ToolAnnotations). Hints, not promises."""

    title: str | None = None
    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None

    def to_json(self) -> JSONObject:
        pairs: list[tuple[str, JSONValue]] = [
            ("title", self.title),
            ("readOnlyHint", self.read_only),
            ("destructiveHint", self.destructive),
            ("idempotentHint", self.idempotent),
            ("openWorldHint", self.open_world),
        ]
        return {key: value for key, value in pairs if value is not None}


@dataclass(slots=True)
class ToolResult:
    """A tool's full answer, for handlers that need more than a return value.

    Args:
        content: blocks (``str`` becomes a text block).
        structured: the ``structuredContent`` (2025-06-18 and later): a JSON object, or a
            value of the tool's ``output_type`` (a model, dataclass, TypedDict ...).
        is_error: the call failed; ``content`` says why, for the model to act on.
        meta: the result's ``_meta``.
    """

    content: Sequence[ContentBlock | str | JSONObject] = ()
    structured: object = None
    is_error: bool = False
    meta: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class PromptMessage:
    """One message of a prompt."""

    role: Literal["user", "assistant"]
    content: ContentBlock | str


@dataclass(slots=True)
class PromptResult:
    """A prompt's full answer: its messages and an optional description."""

    messages: Sequence[PromptMessage | str]
    description: str | None = None
    meta: JSONObject | None = field(default=None)
