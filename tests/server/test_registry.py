"""Server registration: what is accepted, what is refused at once, and how it is described."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from harness import FakeClient
from pydantic import Field

from ssemcp import Context, LocalProtocolError, Server
from ssemcp.protocol.revisions import REVISIONS
from ssemcp.server.schema import parse_docstring


async def noop() -> str:
    return ""


@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 129, "émoji"])
def test_invalid_tool_names_are_refused_at_registration(name: str) -> None:
    with pytest.raises(LocalProtocolError, match="invalid tool name"):
        Server("s").add_tool(noop, name=name)


@pytest.mark.parametrize("name", ["a", "get_user", "admin.tools.list", "DATA-export-v2", "x" * 128])
def test_valid_tool_names_are_accepted(name: str) -> None:
    assert Server("s").add_tool(noop, name=name).name == name


def test_duplicate_tool_is_refused() -> None:
    server = Server("s")
    server.add_tool(noop)
    with pytest.raises(LocalProtocolError, match="already registered"):
        server.add_tool(noop)


def test_sync_handler_asking_for_a_context_is_refused() -> None:
    def needs_context(ctx: Context) -> str:
        return ""

    with pytest.raises(LocalProtocolError, match="must be async"):
        Server("s").add_tool(needs_context)


def test_varargs_cannot_be_described() -> None:
    async def variadic(*names: str) -> str:
        return ""

    async def keywords(**options: str) -> str:
        return ""

    for function in (variadic, keywords):
        with pytest.raises(LocalProtocolError, match=r"\*args and \*\*kwargs"):
            Server("s").add_tool(function)


def test_unresolvable_type_hint_is_refused_with_the_tool_name() -> None:
    async def broken(x: NoSuchType) -> str:  # type: ignore[name-defined]  # noqa: F821
        return ""

    with pytest.raises(LocalProtocolError, match="broken: cannot resolve type hints"):
        Server("s").add_tool(broken)


def test_template_variables_must_match_the_parameters() -> None:
    server = Server("s")

    async def item(item_id: int) -> str:
        return ""

    with pytest.raises(LocalProtocolError, match="do not match"):
        server.add_resource(item, "test://items/{id}")


def test_static_resource_takes_no_parameters() -> None:
    async def item(item_id: int) -> str:
        return ""

    with pytest.raises(LocalProtocolError, match="takes no parameters"):
        Server("s").add_resource(item, "test://static")


def test_parameters_named_like_model_attributes_do_not_shadow_anything() -> None:
    async def odd(json: str, schema: int, model_config: bool = False) -> str:
        return ""

    tool = Server("s").add_tool(odd)
    assert set(tool.definition["inputSchema"]["properties"]) == {  # type: ignore[call-overload,index]
        "json",
        "schema",
        "model_config",
    }
    assert tool.plan.arguments({"json": "j", "schema": 1}) == {
        "json": "j",
        "schema": 1,
        "model_config": False,
    }


def test_annotated_field_constraints_reach_the_schema() -> None:
    async def limited(
        limit: Annotated[int, Field(ge=1, le=100, description="how many")] = 30,
    ) -> str:
        return ""

    schema: Any = Server("s").add_tool(limited).definition["inputSchema"]
    assert schema["properties"]["limit"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 30,
        "description": "how many",
    }
    assert "required" not in schema


def test_list_definitions_are_cached_until_the_registry_changes() -> None:
    server = Server("s")
    server.add_tool(noop)
    revision = REVISIONS[-1]
    first = server.list_definitions("tools", revision)
    assert server.list_definitions("tools", revision) is first

    async def other() -> str:
        return ""

    server.add_tool(other)
    assert [tool["name"] for tool in server.list_definitions("tools", revision)] == [
        "noop",
        "other",
    ]


def test_completion_for_unknown_prompt_or_argument_is_refused() -> None:
    server = Server("s")

    @server.prompt()
    def greet(name: str) -> str:
        return name

    with pytest.raises(LocalProtocolError):
        server.completion(prompt="missing", argument="name")(lambda value, context: [])
    with pytest.raises(LocalProtocolError):
        server.completion(prompt="greet", argument="nope")(lambda value, context: [])
    with pytest.raises(LocalProtocolError):
        server.completion(argument="name")


def test_docstring_sections_become_descriptions() -> None:
    description, parameters = parse_docstring(
        """Fetch a story.

        It may be long.

        Args:
            id (int): the item id,
                as on the site.
            depth: how deep.

        Returns:
            the story.
        """
    )
    assert description == "Fetch a story.\n\nIt may be long."
    assert parameters == {"id": "the item id, as on the site.", "depth": "how deep."}


def test_docstring_absent_gives_nothing() -> None:
    assert parse_docstring(None) == (None, {})


async def test_bare_tool_decorator_registers_the_function_and_returns_it() -> None:
    server = Server("s")

    @server.tool
    async def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    assert await shout("hi") == "HI"  # still the function, not a decorator
    assert server.tools["shout"].definition["description"] == "Upper-case the text."
    client = FakeClient(server)
    await client.initialize()
    result = await client.call("shout", {"text": "hi"})
    assert result["content"] == [{"type": "text", "text": "HI"}]


async def test_bare_prompt_decorator_registers_the_function_and_returns_it() -> None:
    server = Server("s")

    @server.prompt
    def greet(name: str) -> str:
        return f"Hello, {name}"

    assert greet("Ada") == "Hello, Ada"
    client = FakeClient(server)
    await client.initialize()
    result = await client.result("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}})
    assert result["messages"] == [
        {"role": "user", "content": {"type": "text", "text": "Hello, Ada"}}
    ]


def test_tool_and_prompt_decorators_with_parentheses_still_take_a_name() -> None:
    server = Server("s")

    @server.tool()
    async def first() -> str:
        return ""

    @server.tool("renamed")
    async def second() -> str:
        return ""

    @server.prompt("named_prompt")
    def third() -> str:
        return ""

    assert set(server.tools) == {"first", "renamed"}
    assert set(server.prompts) == {"named_prompt"}


def test_bare_resource_decorator_is_a_type_error_asking_for_a_uri() -> None:
    server = Server("s")
    with pytest.raises(TypeError, match=r"needs a URI.*@server\.resource\(\"scheme://"):

        @server.resource  # type: ignore[arg-type]
        def readme() -> str:
            return ""

    assert server.resources == {}


def test_a_tool_with_a_bad_x_mcp_header_is_refused_at_registration() -> None:

    from ssemcp.errors import LocalProtocolError

    server = Server("s")

    async def ratio(
        value: Annotated[float, Field(json_schema_extra={"x-mcp-header": "Value"})],
    ) -> float:
        return value

    with pytest.raises(LocalProtocolError, match="only string, integer and boolean"):
        server.add_tool(ratio)
