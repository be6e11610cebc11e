"""The utilities tool set: echo, current time, a safe calculator, a greeting template.

The basics every MCP server example offers, here with bounds and exact errors. The logic lives
in :mod:`.calculator` and :mod:`.clock`; this module only describes it to MCP.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ssemcp.errors import ToolError
from ssemcp.server.content import ToolAnnotations
from ssemcp.server.registry import Server
from ssemcp.toolsets.utilities.calculator import CalculationError, evaluate, format_number
from ssemcp.toolsets.utilities.clock import CurrentTime, UnknownTimezoneError, current_time

__all__ = ["register"]

_PURE = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)


def register(server: Server) -> None:
    """Add the utilities to ``server``."""

    @server.tool(title="Echo", annotations=_PURE)
    async def echo(
        message: Annotated[str, Field(max_length=100_000)],
    ) -> str:
        """Return the message unchanged. Useful to test that the connection works.

        Args:
            message: the text to send back.
        """
        return message

    @server.tool(
        name="current_time",
        title="Current time",
        annotations=ToolAnnotations(read_only=True, destructive=False, open_world=False),
    )
    async def current_time_tool(
        timezone: Annotated[str, Field(max_length=64)] = "UTC",
    ) -> CurrentTime:
        """The current date and time in an IANA time zone, with its UTC offset and DST flag.

        Args:
            timezone: an IANA zone name such as "Europe/Paris", "America/New_York" or "UTC".
        """
        try:
            return current_time(timezone)
        except UnknownTimezoneError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(title="Calculator", annotations=_PURE)
    async def calculate(
        expression: Annotated[str, Field(min_length=1, max_length=1000)],
    ) -> str:
        """Evaluate an arithmetic expression exactly and safely.

        Supports numbers, + - * / // % **, parentheses, the constants pi, e and tau, and math
        functions such as sqrt, sin, cos, log, exp, floor, ceil, factorial, round, min, max.

        Args:
            expression: the expression, e.g. "2 * (3 + 4) ** 2" or "sqrt(2) / 2".
        """
        try:
            return format_number(evaluate(expression))
        except CalculationError as exc:
            raise ToolError(f"Cannot evaluate {expression!r}: {exc}") from None

    @server.resource(
        "greeting://{name}",
        name="greeting",
        title="Greeting",
        description="A personal greeting for {name}.",
        mime_type="text/plain",
    )
    async def greeting(name: str) -> str:
        return f"Hello, {name}!"
