"""``Server``: the registry of tools, resources, templates, prompts and completions.

Owns what a server offers and how each offering is described on the wire. Definitions are
built once, at registration (schemas, validators, wire objects), and cached per revision, so a
``tools/list`` costs a dict lookup. Serving a session is :mod:`ssemcp.server.connection`'s job;
a ``Server`` publishes its changes (``list_changed``, ``resources/updated``) on its
notification bus (:mod:`ssemcp.state.bus`) and knows no connection.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from ssemcp._types import JSONObject
from ssemcp._version import __version__
from ssemcp.errors import LocalProtocolError
from ssemcp.jsonrpc import Notification
from ssemcp.protocol.pagination import DEFAULT_PAGE_SIZE
from ssemcp.protocol.request_state import RequestStateKeys
from ssemcp.protocol.revisions import Revision, shape
from ssemcp.protocol.sessionless import CacheHint, HeaderParam, header_params_of
from ssemcp.server.content import CONTENT_TYPES, Icon, ToolAnnotations, ToolResult
from ssemcp.server.context import Context
from ssemcp.server.schema import (
    HandlerPlan,
    OutputPlan,
    literal_choices,
    plan_handler,
    plan_output,
)
from ssemcp.server.uritemplate import UriTemplate, is_template
from ssemcp.state.bus import LIST_CHANGED, MemoryBus, NotificationBus, Subscriber, resource_topic

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from ssemcp.otel.spans import RequestTracing

__all__ = ["Prompt", "Resource", "ResourceTemplate", "Server", "Tool"]

logger = logging.getLogger(__name__)


F = TypeVar("F", bound=Callable[..., Any])
Completer = Callable[[str, dict[str, str]], "Iterable[str] | Awaitable[Iterable[str]]"]
# Called with (uri, number of sessions now subscribed) whenever that number changes.
SubscriptionListener = Callable[[str, int], None]

# spec 2025-11-25 server/tools, "Tool Names": 1 to 128 characters of A-Z a-z 0-9 _ - .
_TOOL_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
# Completions: spec server/utilities/completion caps a response at 100 values.
MAX_COMPLETION_VALUES: Final = 100


@dataclass(slots=True)
class Tool:
    name: str
    plan: HandlerPlan
    output: OutputPlan | None
    definition: JSONObject
    # How long clients of 2026-07-28 may cache a list holding it (None: the server's hint).
    cache: CacheHint | None = None
    # Its arguments marked "x-mcp-header", checked against Mcp-Param-* on 2026-07-28 HTTP.
    header_params: tuple[HeaderParam, ...] = ()
    # The OAuth scopes a caller needs (ssemcp.auth.scopes); empty: anyone who may connect.
    scopes: frozenset[str] = frozenset()


@dataclass(slots=True)
class Resource:
    uri: str
    plan: HandlerPlan
    mime_type: str | None
    definition: JSONObject
    cache: CacheHint | None = None
    scopes: frozenset[str] = frozenset()


@dataclass(slots=True)
class ResourceTemplate:
    template: UriTemplate
    plan: HandlerPlan
    mime_type: str | None
    definition: JSONObject
    completers: dict[str, Completer] = field(default_factory=dict)
    cache: CacheHint | None = None
    scopes: frozenset[str] = frozenset()


@dataclass(slots=True)
class Prompt:
    name: str
    plan: HandlerPlan
    definition: JSONObject
    completers: dict[str, Completer] = field(default_factory=dict)
    cache: CacheHint | None = None
    scopes: frozenset[str] = frozenset()


def _icons(icons: Sequence[Icon | JSONObject] | None) -> list[JSONObject] | None:
    if not icons:
        return None
    return [icon.to_json() if isinstance(icon, Icon) else icon for icon in icons]


def _put(obj: JSONObject, key: str, value: Any) -> None:
    if value is not None:
        obj[key] = value


# What every Server announces; built once, not per session.
_CAPABILITIES: Final[JSONObject] = {
    "tools": {"listChanged": True},
    "resources": {"subscribe": True, "listChanged": True},
    "prompts": {"listChanged": True},
    "logging": {},
    "completions": {},
}


class Server:
    """An MCP server's offerings.

    Args:
        name: ``serverInfo.name``.
        version: ``serverInfo.version`` (defaults to ssemcp's).
        title: a human-friendly name (2025-06-18 and later).
        instructions: how a model should use this server, sent in the initialize result.
        page_size: items per page of every list method.
        request_timeout_seconds: how long a server-to-client request (sampling,
            elicitation, roots) waits for the client before failing.
        request_state_keys: what seals ``requestState`` (2026-07-28); replicas share them.
        cache: the cache hint of ``server/discover``, the lists and resources (2026-07-28).
        bus: where changes are published and sessions subscribe; in memory unless given
            (replicas share one).
        tracer_provider: an OpenTelemetry tracer provider: a span for every request, from
            its ``ssemcp`` tracer (``ssemcp.otel``; needs ``ssemcp[otel]``). None: no tracing.
    """

    def __init__(
        self,
        name: str,
        version: str | None = None,
        *,
        title: str | None = None,
        instructions: str | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        website_url: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        request_timeout_seconds: float = 60.0,
        request_state_keys: RequestStateKeys | None = None,
        cache: CacheHint | None = None,
        bus: NotificationBus | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        if page_size < 1:
            raise LocalProtocolError("page_size must be at least 1")
        self.name = name
        self.version = version or __version__
        self.instructions = instructions
        self.page_size = page_size
        self.request_timeout_seconds = request_timeout_seconds
        # What seals the requestState of multi round-trip requests (2026-07-28): a key of this
        # process unless given; replicas that share keys can each take any round.
        self.request_state_keys = request_state_keys or RequestStateKeys.random()
        # The cache hint of server/discover and the lists, and of a resource without its own
        # (2026-07-28 server/utilities/caching): none, private, unless said.
        self.cache = cache or CacheHint()
        self.server_info: JSONObject = {"name": name, "version": self.version}
        _put(self.server_info, "title", title)
        _put(self.server_info, "icons", _icons(icons))
        _put(self.server_info, "websiteUrl", website_url)
        self.tools: dict[str, Tool] = {}
        self.resources: dict[str, Resource] = {}
        self.templates: dict[str, ResourceTemplate] = {}
        self.prompts: dict[str, Prompt] = {}
        self._list_cache: dict[tuple[str, str], list[JSONObject]] = {}
        self.bus: NotificationBus = MemoryBus() if bus is None else bus
        self._subscription_listeners: list[SubscriptionListener] = []
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        # Whether tools/list (and the resource and prompt lists) show entries whose scopes
        # the caller lacks (ssemcp.auth.scopes); ``ssemcp serve --list-all-tools``.
        self.list_all_tools = False
        # OpenTelemetry spans (ssemcp.otel): None, the default, costs dispatch one check.
        self.tracing: RequestTracing | None = None
        if tracer_provider is not None:
            self.tracer_provider = tracer_provider

    def __repr__(self) -> str:
        return (
            f"Server({self.name!r}, tools={len(self.tools)}, resources={len(self.resources)}, "
            f"templates={len(self.templates)}, prompts={len(self.prompts)})"
        )

    @property
    def tracer_provider(self) -> TracerProvider | None:
        """The OpenTelemetry tracer provider of this server's request spans; None: no tracing.
        Set it to turn tracing on (``opentelemetry.trace.get_tracer_provider()`` for the
        global one) or off."""
        return None if self.tracing is None else self.tracing.provider

    @tracer_provider.setter
    def tracer_provider(self, provider: TracerProvider | None) -> None:
        if provider is None:
            self.tracing = None
            return
        from ssemcp.otel.spans import RequestTracing  # only with tracing: ssemcp[otel]

        self.tracing = RequestTracing(provider)

    @property
    def capabilities(self) -> JSONObject:
        """The capabilities announced in ``initialize`` (newest revision's names). One
        object shared by every session: read it, do not change it."""
        return _CAPABILITIES

    # ------------------------------------------------------------------ tools

    @overload
    def tool(self, name: F, /) -> F: ...

    @overload
    def tool(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | JSONObject | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        structured_output: bool | None = None,
        output_type: object = None,
        meta: JSONObject | None = None,
        cache: CacheHint | None = None,
        scopes: Iterable[str] = (),
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        name: str | F | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | JSONObject | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        structured_output: bool | None = None,
        output_type: object = None,
        meta: JSONObject | None = None,
        cache: CacheHint | None = None,
        scopes: Iterable[str] = (),
    ) -> F | Callable[[F], F]:
        """Register the decorated function as a tool; see :meth:`add_tool`.

        Both ``@server.tool`` and ``@server.tool(...)`` work; the function is returned as is.
        """
        if callable(name):
            self.add_tool(name)
            return name

        def decorate(function: F) -> F:
            self.add_tool(
                function,
                name=name,
                title=title,
                description=description,
                annotations=annotations,
                icons=icons,
                structured_output=structured_output,
                output_type=output_type,
                meta=meta,
                cache=cache,
                scopes=scopes,
            )
            return function

        return decorate

    def add_tool(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | JSONObject | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        structured_output: bool | None = None,
        output_type: object = None,
        meta: JSONObject | None = None,
        input_schema: JSONObject | None = None,
        cache: CacheHint | None = None,
        scopes: Iterable[str] = (),
    ) -> Tool:
        """Register ``function`` as a tool.

        The input schema comes from the parameters' type hints and the docstring's ``Args:``
        section; the description from the docstring's first part; the output schema from the
        return annotation (see :func:`~ssemcp.server.schema.plan_output`).

        Args:
            output_type: the type of the structured output, when the function returns a
                ``ToolResult`` (its own readable text, plus ``structured=`` data of this
                type) rather than the data itself.
            input_schema: publish this schema instead of the generated one (arguments are
                still validated against the signature).
            cache: how long 2026-07-28 clients may cache ``tools/list`` while it holds this
                tool (a list takes the shortest hint of what it holds, and the server's).
            scopes: the OAuth scopes a caller's token must grant to call it (and to see it in
                ``tools/list``); see ``ssemcp.auth``. Callers without a token (stdio) and
                static secrets are not limited by scopes.

        Raises:
            LocalProtocolError: bad name, duplicate name, or an unserveable signature.
        """
        tool_name = function.__name__ if name is None else name
        if not _TOOL_NAME.fullmatch(tool_name):
            raise LocalProtocolError(
                f"invalid tool name {tool_name!r}: use 1-128 of A-Z a-z 0-9 _ - ."
            )
        if tool_name in self.tools:
            raise LocalProtocolError(f"a tool named {tool_name!r} is already registered")
        plan = plan_handler(function, model_name=tool_name, context_type=Context)
        output = plan_output(
            function,
            content_types=(*CONTENT_TYPES, ToolResult),
            structured=structured_output,
            output_type=output_type,
        )
        definition: JSONObject = {"name": tool_name}
        _put(definition, "title", title)
        definition["description"] = description or plan.description or ""
        definition["inputSchema"] = input_schema or plan.input_schema
        if output is not None:
            definition["outputSchema"] = output.schema
        if isinstance(annotations, ToolAnnotations):
            annotations = annotations.to_json()
        _put(definition, "annotations", annotations or None)
        _put(definition, "icons", _icons(icons))
        _put(definition, "_meta", meta)
        try:
            header_params = header_params_of(definition["inputSchema"])  # type: ignore[arg-type]
        except ValueError as exc:
            raise LocalProtocolError(f"tool {tool_name!r}: {exc}") from None
        tool = Tool(tool_name, plan, output, definition, cache, header_params, frozenset(scopes))
        self.tools[tool_name] = tool
        self._changed("tools")
        return tool

    def remove_tool(self, name: str) -> None:
        """Unregister a tool; connected clients get ``notifications/tools/list_changed``."""
        if self.tools.pop(name, None) is not None:
            self._changed("tools")

    # ------------------------------------------------------------------ resources

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        annotations: JSONObject | None = None,
        size: int | None = None,
        meta: JSONObject | None = None,
        cache: CacheHint | None = None,
        scopes: Iterable[str] = (),
    ) -> Callable[[F], F]:
        """Register the decorated function as a resource, or a template if ``uri`` has
        RFC 6570 expressions (``greeting://{name}``): the function's parameters are then the
        template's variables, converted to their annotated types.

        The function returns ``str`` (text), ``bytes`` (a blob), ``ResourceContents`` (or a
        list of them), or any JSON-able data (sent as ``application/json`` text).

        Raises:
            TypeError: used bare (``@server.resource``): a resource has no name to infer
                its URI from.
        """
        if not isinstance(uri, str):
            raise TypeError(
                '@server.resource needs a URI: write @server.resource("scheme://path"), '
                f"not @server.resource, above {getattr(uri, '__name__', repr(uri))}"
            )

        def decorate(function: F) -> F:
            self.add_resource(
                function,
                uri,
                name=name,
                title=title,
                description=description,
                mime_type=mime_type,
                icons=icons,
                annotations=annotations,
                size=size,
                meta=meta,
                cache=cache,
                scopes=scopes,
            )
            return function

        return decorate

    def add_resource(
        self,
        function: Callable[..., Any],
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        annotations: JSONObject | None = None,
        size: int | None = None,
        meta: JSONObject | None = None,
        cache: CacheHint | None = None,
        scopes: Iterable[str] = (),
    ) -> Resource | ResourceTemplate:
        """Register ``function`` as the resource (or template) ``uri``; see :meth:`resource`.

        ``cache`` is how long 2026-07-28 clients may cache a read of it (and the lists that
        hold it take the shortest hint of what they hold); None: the server's. ``scopes``:
        the OAuth scopes a caller needs to read it (see :meth:`add_tool`).

        Raises:
            LocalProtocolError: a duplicate URI, or template variables that do not match the
                function's parameters.
        """
        resource_name = function.__name__ if name is None else name
        if is_template(uri):
            template = UriTemplate(uri)
            plan = plan_handler(
                function, model_name=resource_name, context_type=Context, only_strings=True
            )
            parameters = {parameter for _, parameter in plan.fields}
            if parameters != set(template.variables):
                raise LocalProtocolError(
                    f"resource template {uri!r}: variables {sorted(template.variables)} do not "
                    f"match the parameters of {function.__name__}: {sorted(parameters)}"
                )
            if uri in self.templates:
                raise LocalProtocolError(f"resource template {uri!r} is already registered")
            definition: JSONObject = {"uriTemplate": uri, "name": resource_name}
            _put(definition, "title", title)
            _put(definition, "description", description or plan.description)
            _put(definition, "mimeType", mime_type)
            _put(definition, "icons", _icons(icons))
            _put(definition, "annotations", annotations)
            _put(definition, "_meta", meta)
            entry = ResourceTemplate(
                template, plan, mime_type, definition, cache=cache, scopes=frozenset(scopes)
            )
            self.templates[uri] = entry
            self._changed("templates")
            return entry
        plan = plan_handler(function, model_name=resource_name, context_type=Context)
        if plan.fields:
            raise LocalProtocolError(
                f"resource {uri!r}: a static resource takes no parameters (but a Context)"
            )
        if uri in self.resources:
            raise LocalProtocolError(f"resource {uri!r} is already registered")
        definition = {"uri": uri, "name": resource_name}
        _put(definition, "title", title)
        _put(definition, "description", description or plan.description)
        _put(definition, "mimeType", mime_type)
        _put(definition, "size", size)
        _put(definition, "icons", _icons(icons))
        _put(definition, "annotations", annotations)
        _put(definition, "_meta", meta)
        resource = Resource(uri, plan, mime_type, definition, cache, frozenset(scopes))
        self.resources[uri] = resource
        self._changed("resources")
        return resource

    def remove_resource(self, uri: str) -> None:
        """Unregister a resource or template by its URI (or URI template)."""
        if self.resources.pop(uri, None) is not None:
            self._changed("resources")
        if self.templates.pop(uri, None) is not None:
            self._changed("templates")

    def find_resource(self, uri: str) -> tuple[Resource | ResourceTemplate, dict[str, str]] | None:
        """The resource serving ``uri`` and its template variables, or None."""
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.templates.values():
            values = template.template.match(uri)
            if values is not None:
                return template, values
        return None

    def cache_hint_for(self, method: str, params: JSONObject | None) -> CacheHint:
        """The cache hint of a 2026-07-28 result of ``method`` (server/utilities/caching): a
        read's is its resource's; a list's is the strictest of what it holds, each without
        a hint of its own counting as the server's (one hint for the whole list: "Servers MUST
        apply the same cacheScope to all response pages"); discover's, the server's."""
        if method == "resources/read":
            uri = (params or {}).get("uri")
            found = self.find_resource(uri) if type(uri) is str else None
            return (found[0].cache if found is not None else None) or self.cache
        entries: Iterable[Tool | Resource | ResourceTemplate | Prompt] = ()
        if method == "tools/list":
            entries = self.tools.values()
        elif method == "resources/list":
            entries = self.resources.values()
        elif method == "resources/templates/list":
            entries = self.templates.values()
        elif method == "prompts/list":
            entries = self.prompts.values()
        hints = [entry.cache or self.cache for entry in entries]
        return CacheHint.strictest(*hints) if hints else self.cache

    # ------------------------------------------------------------------ prompts

    @overload
    def prompt(self, name: F, /) -> F: ...

    @overload
    def prompt(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        meta: JSONObject | None = None,
        cache: CacheHint | None = None,
        scopes: Iterable[str] = (),
    ) -> Callable[[F], F]: ...

    def prompt(
        self,
        name: str | F | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        meta: JSONObject | None = None,
        cache: CacheHint | None = None,
        scopes: Iterable[str] = (),
    ) -> F | Callable[[F], F]:
        """Register the decorated function as a prompt.

        Its parameters are the prompt's arguments (they arrive as strings and are converted to
        the annotated types). It returns ``str`` (one user message), a list of
        ``PromptMessage`` / ``str``, or a ``PromptResult``. Both ``@server.prompt`` and
        ``@server.prompt(...)`` work; the function is returned as is.
        """
        if callable(name):
            self.add_prompt(name)
            return name

        def decorate(function: F) -> F:
            self.add_prompt(
                function,
                name=name,
                title=title,
                description=description,
                icons=icons,
                meta=meta,
                cache=cache,
                scopes=scopes,
            )
            return function

        return decorate

    def add_prompt(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        icons: Sequence[Icon | JSONObject] | None = None,
        meta: JSONObject | None = None,
        cache: CacheHint | None = None,
        scopes: Iterable[str] = (),
    ) -> Prompt:
        """Register ``function`` as a prompt; see :meth:`prompt` (and :meth:`add_tool` for
        ``scopes``)."""
        prompt_name = function.__name__ if name is None else name
        if not prompt_name:
            raise LocalProtocolError("a prompt name must not be empty")
        if prompt_name in self.prompts:
            raise LocalProtocolError(f"a prompt named {prompt_name!r} is already registered")
        plan = plan_handler(
            function, model_name=prompt_name, context_type=Context, only_strings=True
        )
        arguments: list[JSONObject] = []
        for _, parameter in plan.fields:
            argument: JSONObject = {"name": parameter}
            _put(argument, "description", plan.parameter_descriptions.get(parameter))
            argument["required"] = parameter in plan.required
            arguments.append(argument)
        definition: JSONObject = {"name": prompt_name}
        _put(definition, "title", title)
        definition["description"] = description or plan.description or ""
        definition["arguments"] = arguments  # type: ignore[assignment]
        _put(definition, "icons", _icons(icons))
        _put(definition, "_meta", meta)
        prompt = Prompt(prompt_name, plan, definition, cache=cache, scopes=frozenset(scopes))
        self.prompts[prompt_name] = prompt
        self._changed("prompts")
        return prompt

    def remove_prompt(self, name: str) -> None:
        """Unregister a prompt."""
        if self.prompts.pop(name, None) is not None:
            self._changed("prompts")

    # ------------------------------------------------------------------ completions

    def completion(
        self,
        *,
        argument: str,
        prompt: str | None = None,
        resource_template: str | None = None,
    ) -> Callable[[F], F]:
        """Register the decorated ``(value, context_arguments) -> values`` function as the
        completer of one prompt argument or template variable.

        Arguments typed ``Literal[...]`` or an ``Enum`` complete by themselves.
        """
        if (prompt is None) == (resource_template is None):
            raise LocalProtocolError("name exactly one of prompt and resource_template")

        def decorate(function: F) -> F:
            target: Prompt | ResourceTemplate | None = (
                self.prompts.get(prompt)
                if prompt is not None
                else self.templates.get(resource_template or "")
            )
            if target is None:
                raise LocalProtocolError(
                    f"no prompt or resource template {prompt or resource_template!r} to complete"
                )
            if argument not in target.plan.annotations:
                raise LocalProtocolError(f"{argument!r} is not an argument of it")
            target.completers[argument] = function
            return function

        return decorate

    @staticmethod
    def default_choices(plan: HandlerPlan, argument: str) -> list[str]:
        """The values a ``Literal`` / ``Enum`` argument allows."""
        annotation = plan.annotations.get(argument)
        return literal_choices(annotation) if annotation is not None else []

    # ------------------------------------------------------------------ lists

    def list_definitions(self, kind: str, revision: Revision) -> list[JSONObject]:
        """The wire objects of one list (``tools``, ``resources``, ``templates``, ``prompts``)
        shaped for ``revision``; cached until the registry changes."""
        key = (kind, revision.version)
        cached = self._list_cache.get(key)
        if cached is None:
            registry: dict[str, Any] = getattr(self, kind)
            cached = [shape(entry.definition, revision) for entry in registry.values()]
            self._list_cache[key] = cached
        return cached

    def _changed(self, kind: str) -> None:
        for key in [key for key in self._list_cache if key[0] == kind]:
            del self._list_cache[key]
        list_name = "resources" if kind == "templates" else kind
        self.bus.publish(LIST_CHANGED, Notification(f"notifications/{list_name}/list_changed"))

    # ------------------------------------------------------------------ lifetime

    def add_cleanup(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Register a coroutine function to await when the transport shuts down (e.g. to
        close a tool set's HTTP client). Cleanups run in reverse order of registration."""
        self._cleanups.append(cleanup)

    async def aclose(self) -> None:
        """Run the cleanups; called once by the transport that served this server."""
        cleanups, self._cleanups = self._cleanups[::-1], []
        for cleanup in cleanups:
            try:
                await cleanup()
            except Exception:
                logger.exception("cleanup %r failed", cleanup)

    # ------------------------------------------------------------------ subscriptions

    def notify_resource_updated(self, uri: str) -> int:
        """Tell every session subscribed to ``uri`` that it changed
        (``notifications/resources/updated``). Returns how many sessions of this process
        were subscribed."""
        topic = resource_topic(uri)
        # One message object for every session: a transport may serialize it once for all.
        self.bus.publish(topic, Notification("notifications/resources/updated", {"uri": uri}))
        return self.bus.subscriber_count(topic)

    def subscriber_count(self, uri: str) -> int:
        """How many live sessions of this process are subscribed to ``uri``."""
        return self.bus.subscriber_count(resource_topic(uri))

    def on_subscription_change(self, listener: SubscriptionListener) -> SubscriptionListener:
        """Register ``listener(uri, subscribers)``, called whenever the number of sessions
        subscribed to a URI changes (a tool set starts polling at 1 and stops at 0)."""
        self._subscription_listeners.append(listener)
        return listener

    def subscription_added(self, uri: str, subscriber: Subscriber) -> None:
        """Called by a session or listen stream when it subscribes to ``uri``."""
        self.bus.subscribe(resource_topic(uri), subscriber)
        self._tell_subscription_listeners(uri)

    def subscription_removed(self, uri: str, subscriber: Subscriber) -> None:
        """Called by a session or listen stream when it unsubscribes, or ends."""
        self.bus.unsubscribe(resource_topic(uri), subscriber)
        self._tell_subscription_listeners(uri)

    def _tell_subscription_listeners(self, uri: str) -> None:
        count = self.subscriber_count(uri)
        for listener in self._subscription_listeners:
            try:
                listener(uri, count)
            except Exception:
                logger.exception("subscription listener failed for %r", uri)
