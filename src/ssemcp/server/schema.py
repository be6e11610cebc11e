"""Schemas and call plans from a handler's signature, built once at registration.

Owns how a typed Python function becomes an MCP tool, prompt or resource-template handler: the
JSON Schema of its parameters (from type hints, ``Annotated[..., Field(...)]`` and the
docstring's ``Args:`` section), the pydantic validator of its arguments, which parameter wants
the :class:`~ssemcp.server.context.Context`, and the output schema of its return annotation.
Calling the handler is the caller's business.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args, get_origin

import pydantic
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from typing_extensions import is_typeddict

from ssemcp._types import JSONObject
from ssemcp.errors import LocalProtocolError

__all__ = ["HandlerPlan", "OutputPlan", "parse_docstring", "plan_handler", "plan_output"]

_ARGS_SECTION: Final = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$")
_OTHER_SECTION: Final = re.compile(
    r"^\s*(Returns?|Raises|Yields?|Examples?|Notes?|See Also|Attributes)\s*:\s*$"
)
_PARAM_LINE: Final = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


@dataclass(frozen=True, slots=True)
class HandlerPlan:
    """How to call one handler with validated arguments."""

    function: Callable[..., Any]
    is_async: bool
    arguments_model: type[BaseModel]
    # (field name in the model, parameter name of the function), in signature order.
    fields: tuple[tuple[str, str], ...]
    context_parameter: str | None
    input_schema: JSONObject
    description: str | None
    parameter_descriptions: dict[str, str]
    # Annotations of the parameters, for completions of Literal / Enum arguments.
    annotations: dict[str, Any]
    required: tuple[str, ...]
    # When every parameter is a plain str, int, float or bool with no constraints and at
    # most an immutable default: the exact type of each, by name, and the defaults.
    # Arguments that already have exactly those types need no pydantic (see arguments()).
    exact_types: dict[str, type] | None = None
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)

    def arguments(self, values: object) -> dict[str, Any]:
        """The keyword arguments for the function, validated. May be ``values`` itself:
        do not change the result.

        Raises:
            pydantic.ValidationError: the values do not fit the parameters.
        """
        exact_types = self.exact_types
        if exact_types is not None and type(values) is dict:
            # What pydantic would return unchanged (each value already of its parameter's
            # exact type; a bool is no int here), checked by hand at a tenth of the cost.
            # Anything else, an unknown name included, goes to pydantic and its errors.
            for name, value in values.items():
                if exact_types.get(name) is not type(value):
                    break
            else:
                if len(values) == len(exact_types):
                    return values
                if all(name in values for name in self.required):
                    return {**self.defaults, **values}
        validated = self.arguments_model.model_validate(values)
        return {parameter: getattr(validated, field) for field, parameter in self.fields}


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """How to turn a handler's return value into ``structuredContent``."""

    adapter: TypeAdapter[Any]
    schema: JSONObject
    # Non-object results travel as {"result": value} (structuredContent must be an object).
    wrapped: bool

    def structured(self, value: object) -> JSONObject:
        """The ``structuredContent`` for ``value``.

        Raises:
            pydantic.ValidationError: ``value`` does not match the return annotation.
        """
        dumped = self.adapter.dump_python(self.adapter.validate_python(value), mode="json")
        return {"result": dumped} if self.wrapped else dumped


def parse_docstring(docstring: str | None) -> tuple[str | None, dict[str, str]]:
    """The description and per-parameter descriptions of a Google-style docstring."""
    if not docstring:
        return None, {}
    lines = inspect.cleandoc(docstring).splitlines()
    description_lines: list[str] = []
    parameters: dict[str, str] = {}
    in_args = False
    current: str | None = None
    seen_section = False
    for line in lines:
        if _ARGS_SECTION.match(line):
            in_args, seen_section, current = True, True, None
            continue
        if _OTHER_SECTION.match(line):
            in_args, seen_section, current = False, True, None
            continue
        if in_args:
            match = _PARAM_LINE.match(line)
            if match and (len(line) - len(line.lstrip())) <= 4:
                current = match.group(1)
                parameters[current] = match.group(2).strip()
            elif current is not None and line.strip():
                parameters[current] = f"{parameters[current]} {line.strip()}".strip()
        elif not seen_section:
            description_lines.append(line)
    description = "\n".join(description_lines).strip() or None
    return description, parameters


def _is_context(annotation: object, context_type: type) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, context_type)


def plan_handler(
    function: Callable[..., Any],
    *,
    model_name: str,
    context_type: type,
    only_strings: bool = False,
) -> HandlerPlan:
    """Inspect ``function`` once and build how to validate and call it.

    Args:
        function: the handler, sync or async.
        model_name: the name of the generated arguments model (for error messages).
        context_type: the Context class; a parameter annotated with it receives the context.
        only_strings: the arguments arrive as strings (prompt arguments, URI variables);
            validation converts them to the annotated types.

    Raises:
        LocalProtocolError: the signature cannot be served (``*args``, ``**kwargs``, a sync
            handler that wants a Context, unresolvable hints).
    """
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as exc:  # NameError for an unresolvable forward reference, and kin
        raise LocalProtocolError(f"{model_name}: cannot resolve type hints: {exc}") from None
    description, parameter_docs = parse_docstring(function.__doc__)
    is_async = inspect.iscoroutinefunction(function)

    field_definitions: dict[str, Any] = {}
    fields: list[tuple[str, str]] = []
    annotations: dict[str, Any] = {}
    required: list[str] = []
    context_parameter: str | None = None
    for index, parameter in enumerate(signature.parameters.values()):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise LocalProtocolError(f"{model_name}: *args and **kwargs cannot be described")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise LocalProtocolError(f"{model_name}: positional-only parameters are not supported")
        annotation = hints.get(parameter.name, Any)
        if _is_context(annotation, context_type):
            if not is_async:
                raise LocalProtocolError(
                    f"{model_name}: a handler that takes a Context must be async "
                    "(its methods are coroutines)"
                )
            context_parameter = parameter.name
            continue
        default = ... if parameter.default is parameter.empty else parameter.default
        if default is ...:
            required.append(parameter.name)
        # Field names are generated so a parameter called `json` or `schema` cannot shadow a
        # BaseModel attribute; the alias is what travels on the wire.
        field_name = f"p{index}"
        # A docstring description must not override one given in Annotated[..., Field()].
        documented = parameter_docs.get(parameter.name)
        field_info = (
            Field(default, alias=parameter.name, description=documented)
            if documented
            else Field(default, alias=parameter.name)
        )
        field_definitions[field_name] = (annotation, field_info)
        fields.append((field_name, parameter.name))
        annotations[parameter.name] = annotation

    config = ConfigDict(
        extra="forbid",
        populate_by_name=False,
        arbitrary_types_allowed=False,
        coerce_numbers_to_str=only_strings,
    )
    try:
        model = pydantic.create_model(model_name, __config__=config, **field_definitions)
        input_schema = _clean_schema(model.model_json_schema(by_alias=True))
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as exc:
        raise LocalProtocolError(f"{model_name}: cannot build a schema: {exc}") from None
    exact_types, defaults = _exact_types(model, fields)
    return HandlerPlan(
        function=function,
        is_async=is_async,
        arguments_model=model,
        fields=tuple(fields),
        context_parameter=context_parameter,
        input_schema=input_schema,
        description=description,
        parameter_descriptions=parameter_docs,
        annotations=annotations,
        required=tuple(required),
        exact_types=exact_types,
        defaults=defaults,
    )


_EXACT_TYPES: Final = (str, int, float, bool)
_IMMUTABLE_DEFAULT_TYPES: Final = (str, int, float, bool, type(None))


def _exact_types(
    model: type[BaseModel], fields: list[tuple[str, str]]
) -> tuple[dict[str, type] | None, dict[str, Any]]:
    """The exact type and immutable default of each parameter, when all are that simple."""
    exact_types: dict[str, type] = {}
    defaults: dict[str, Any] = {}
    for field_name, parameter in fields:
        info = model.model_fields[field_name]
        if info.annotation not in _EXACT_TYPES or info.metadata or info.default_factory:
            return None, {}
        if not info.is_required():
            # A mutable default is copied by pydantic per call; these need no copy.
            if type(info.default) not in _IMMUTABLE_DEFAULT_TYPES:
                return None, {}
            defaults[parameter] = info.default
        exact_types[parameter] = info.annotation  # type: ignore[assignment]
    return exact_types, defaults


def _clean_schema(schema: dict[str, Any]) -> JSONObject:
    """Drop the titles pydantic generates from names; they repeat the name and cost tokens."""
    schema.pop("title", None)
    for property_schema in schema.get("properties", {}).values():
        if isinstance(property_schema, dict):
            property_schema.pop("title", None)
    schema.setdefault("properties", {})
    return schema


# Return annotations that are content, not data: no output schema for them.
def _is_content_annotation(annotation: object, content_types: Sequence[type]) -> bool:
    # `object` and `Any` say nothing about the data: treat the value as content.
    if annotation in (str, object, None, type(None), Any, inspect.Signature.empty):
        return True
    if isinstance(annotation, type) and issubclass(annotation, tuple(content_types)):
        return True
    origin = get_origin(annotation)
    if origin in (list, tuple, Sequence, typing.Union, types.UnionType):
        return all(
            arg is Ellipsis or _is_content_annotation(arg, content_types)
            for arg in get_args(annotation)
        )
    return False


def _is_object_annotation(annotation: object) -> bool:
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation):
            return True
        if is_typeddict(annotation) or annotation is dict:
            return True
    return get_origin(annotation) is dict


def plan_output(
    function: Callable[..., Any],
    *,
    content_types: Sequence[type],
    structured: bool | None = None,
    output_type: object = None,
) -> OutputPlan | None:
    """The output plan for a tool, or None when its results are content only.

    Args:
        structured: force (True) or forbid (False) structured output; None decides by the
            return annotation: objects, models, dataclasses, TypedDicts, numbers, bools
            and lists of data get an ``outputSchema``; ``str`` and content blocks do not.
        output_type: describe the structured output with this type instead of the return
            annotation; for tools that return a ``ToolResult`` with their own readable text
            and ``structured=`` data of this type.

    Raises:
        LocalProtocolError: ``structured=True`` (or an ``output_type``) with a type that has
            no schema.
    """
    if structured is False:
        return None
    if output_type is not None:
        annotation: Any = output_type
        structured = True
    else:
        try:
            hints = typing.get_type_hints(function, include_extras=True)
        except Exception:
            hints = {}
        annotation = hints.get("return", inspect.Signature.empty)
    bare = annotation
    if get_origin(bare) is typing.Annotated:
        bare = get_args(bare)[0]
    if _is_content_annotation(bare, content_types):
        if structured:
            raise LocalProtocolError(
                f"{function.__name__}: structured output needs a data return annotation"
            )
        return None
    wrapped = not _is_object_annotation(bare)
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        schema = adapter.json_schema(mode="serialization")
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError) as exc:
        raise LocalProtocolError(
            f"{function.__name__}: cannot build an output schema: {exc}"
        ) from None
    if wrapped:
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        defs = schema["properties"]["result"].pop("$defs", None)
        if defs:
            schema["$defs"] = defs
    else:
        schema.pop("title", None)
    return OutputPlan(adapter=adapter, schema=schema, wrapped=wrapped)


def literal_choices(annotation: object) -> list[str]:
    """The string values a ``Literal`` or ``Enum`` annotation allows (for completions)."""
    import enum

    if get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        return [str(value) for value in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    if get_origin(annotation) in (typing.Union, types.UnionType):
        choices: list[str] = []
        for arg in get_args(annotation):
            choices.extend(literal_choices(arg))
        return choices
    return []
