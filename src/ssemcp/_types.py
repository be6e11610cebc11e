"""The JSON vocabulary every module shares.

Owns the one alias for JSON values. The protocol modules speak in these types; nothing here
does I/O or validation.
"""

from __future__ import annotations

from typing import TypeAlias

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
JSONObject: TypeAlias = "dict[str, JSONValue]"

__all__ = ["JSONObject", "JSONValue"]
