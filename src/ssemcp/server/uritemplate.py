"""RFC 6570 URI Templates for MCP resource templates: parse once, expand, match. No I/O.

Owns the template grammar (RFC 6570 levels 1 to 3, plus the level-4 modifiers ``*`` and ``:N``
for expansion), expansion of values into a URI (section 3.2), and the reverse: whether a URI a
client sent fits a template, and with which values. It does not know resources, handlers or
the registry; those decide what a matched value means (a file, an API path).

``match`` guards a server that maps URIs onto files or API paths, so it is strict:

- The whole URI must match (anchored); literal text matches itself exactly, hex digits of a
  pct-encoded triplet in either case, and a non-ASCII literal also in pct-encoded UTF-8.
- Each value is pct-decoded exactly once, as strict UTF-8. A ``%`` not followed by two hex
  digits, or bytes that are not UTF-8, mean no match. Raw characters that a URI may not hold
  (controls, space, ``"<>\\^`{|}``) never match; raw non-ASCII is accepted (RFC 3987 IRIs).
- ``{var}``, ``{.var}``, ``{/var}`` and the values of ``{;…}``, ``{?…}``, ``{&…}`` are one
  segment: never a raw ``/``, ``?`` or ``#``, and the decoded value holds no ``/``, ``\\`` or
  NUL and is not ``.`` or ``..``, so ``%2F``, ``%5C``, ``%00`` and ``%2e%2e`` cannot smuggle a
  separator through. The same holds after NFKC normalization, so look-alikes such as U+FF0F
  FULLWIDTH SOLIDUS or U+2025 TWO DOT LEADER are refused too.
- ``{+var}`` may span ``/`` but never ``?`` or ``#``; ``{#var}`` may span ``/`` and ``?``.
  Their decoded value holds no ``\\`` or NUL, has no ``.`` or ``..`` segment, does not start
  with ``//`` (a scheme-relative reference), and does not start with ``/`` where the template
  has a path ``/`` just before it (``file:////etc/passwd`` does not match ``file:///{+path}``;
  ``file:///etc/passwd`` does match ``file://{+path}``, whose author asked for that).
- Variables of ``{var}``, ``{+var}``, ``{#var}``, ``{.var}`` and ``{/var}`` are required and
  match at least one character: an empty value is no match. In a multi-variable expression such
  as ``{x,y}`` every variable must be present, matched by position.
- Variables of ``{?…}``, ``{&…}`` and ``{;…}`` are optional and match in any order; one that is
  missing is absent from the result. A name the template does not list, a name given twice, or
  a query pair without ``=`` is no match. Their values may be empty (``?page=`` gives ``""``),
  as expansion of an empty string produces them. ``{?a}{&b}`` read as one query.
- ``+`` in a query stays a plus: RFC 6570 encodes a space as ``%20``, never as ``+``.
- ``*`` and ``:N`` do not change matching: the variable matches one value like a plain one.
- A template that is ambiguous to read back (``{a}{b}``) resolves greedily, leftmost first.

Cost: the template compiles to one anchored regex. A value is matched without backtracking
wherever what follows it cannot continue it (``{owner}/{repo}``, ``{city}{?days}``, a
trailing ``{+path}``), and a URI holding a character the template cannot is refused before
the regex runs, so the MCP-style templates match in linear time. A template with two
ambiguous boundaries (``{+a}/{+b}/data``) can still cost time quadratic in the URI length on a
URI that nearly matches, about a second at the default ``max_uri_length``; give such a
template a smaller one.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias
from urllib.parse import quote, unquote_to_bytes

from ssemcp.errors import LocalProtocolError

__all__ = ["DEFAULT_MAX_URI_LENGTH", "ExpansionValue", "UriTemplate", "is_template"]

ExpansionValue: TypeAlias = "str | int | Sequence[str] | Mapping[str, str] | None"

# RFC 9110 section 4.1 recommends that senders and recipients support request-line URIs of at
# least 8000 octets; a resource URI longer than a request line could carry is no real resource.
# The bound also caps the regex work one hostile URI can cost.
DEFAULT_MAX_URI_LENGTH: Final = 8192

# RFC 3986 section 2.3 (unreserved) and 2.2 (sub-delims, gen-delims).
_UNRESERVED: Final = string.ascii_letters + string.digits + "-._~"
_SUB_DELIMS: Final = "!$&'()*+,;="
_GEN_DELIMS: Final = ":/?#[]@"
_RESERVED: Final = _GEN_DELIMS + _SUB_DELIMS
# RFC 3986 section 3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
_PCHAR: Final = _UNRESERVED + _SUB_DELIMS + ":@"

# RFC 6570 section 2.1: literals = %x21 / %x23-24 / %x26 / %x28-3B / %x3D / %x3F-5B / %x5D /
# %x5F / %x61-7A / %x7E / ucschar / iprivate / pct-encoded.
_LITERAL_ASCII: Final = frozenset(
    "!#$&()*+,-./0123456789:;=?@" + string.ascii_uppercase + "[]_" + string.ascii_lowercase + "~"
)
# ucschar starts at U+00A0 (RFC 3987 section 2.2); below it only the ASCII above is allowed.
_FIRST_UCSCHAR: Final = 0xA0

_HEX: Final = r"[0-9A-Fa-f]"
_PCT_ENCODED: Final = f"%{_HEX}{_HEX}"
_PCT_TRIPLET_SPLIT: Final = re.compile(f"({_PCT_ENCODED})")

# RFC 6570 section 2.3: varchar = ALPHA / DIGIT / "_" / pct-encoded;
# varname = varchar *( ["."] varchar ).
_VARCHAR: Final = f"(?:[A-Za-z0-9_]|{_PCT_ENCODED})"
_VARNAME: Final = f"{_VARCHAR}(?:\\.?{_VARCHAR})*"
# Section 2.4: varspec = varname [ modifier-level4 ]; prefix = ":" max-length, where
# max-length = %x31-39 0*3DIGIT ; explode = "*".
_VARSPEC: Final = re.compile(
    f"(?P<name>{_VARNAME})(?:(?P<explode>\\*)|:(?P<prefix>[1-9][0-9]{{0,3}}))?"
)

# Section 2.2: "=" "," "!" "@" "|" are reserved as future operators.
_FUTURE_OPERATORS: Final = frozenset("=,!@|")

# Raw characters each kind of value may hold (before pct-decoding).
_SEGMENT_CHARS: Final = _PCHAR  # RFC 3986 section 3.3, pchar: no "/", "?", "#"
# {+var}: a path (RFC 3986 section 3.3) that stops at "?" and "#"; {#var}: a fragment (section
# 3.5). Both also take "[" and "]", which RFC 6570 reserved expansion leaves unencoded.
_RESERVED_PATH_CHARS: Final = _PCHAR + "/[]"
_FRAGMENT_CHARS: Final = _PCHAR + "/?[]"
_PAIR_NAME: Final = f"(?:[A-Za-z0-9_.]|{_PCT_ENCODED})+"

# Characters that make a decoded one-segment value unsafe.
_SEGMENT_FORBIDDEN: Final = re.compile(r"[/\\\x00]")
_PATH_FORBIDDEN: Final = re.compile(r"[\\\x00]")
_DOT_SEGMENTS: Final = frozenset({".", ".."})


@dataclass(frozen=True, slots=True)
class _Operator:
    """One row of the expansion table in RFC 6570 Appendix A."""

    symbol: str
    first: str
    separator: str
    named: bool
    if_empty: str
    allows_reserved: bool


# RFC 6570 Appendix A, "Table of expansion behavior by expression type".
_OPERATORS: Final[Mapping[str, _Operator]] = {
    operator.symbol: operator
    for operator in (
        _Operator("", "", ",", named=False, if_empty="", allows_reserved=False),
        _Operator("+", "", ",", named=False, if_empty="", allows_reserved=True),
        _Operator(".", ".", ".", named=False, if_empty="", allows_reserved=False),
        _Operator("/", "/", "/", named=False, if_empty="", allows_reserved=False),
        _Operator(";", ";", ";", named=True, if_empty="", allows_reserved=False),
        _Operator("?", "?", "&", named=True, if_empty="=", allows_reserved=False),
        _Operator("&", "&", "&", named=True, if_empty="=", allows_reserved=False),
        _Operator("#", "#", ",", named=False, if_empty="", allows_reserved=True),
    )
}


@dataclass(frozen=True, slots=True)
class _VarSpec:
    name: str
    prefix_length: int | None
    explode: bool


@dataclass(frozen=True, slots=True)
class _Expression:
    operator: _Operator
    varspecs: tuple[_VarSpec, ...]


@dataclass(frozen=True, slots=True)
class _Literal:
    text: str
    expanded: str


@dataclass(frozen=True, slots=True)
class _ValueCapture:
    """One regex group holding the raw value of one variable of an unnamed expression."""

    group_name: str
    variable: str
    spans_slashes: bool
    preceded_by_slash: bool


@dataclass(frozen=True, slots=True)
class _PairsCapture:
    """One regex group holding the ``name=value`` pairs of consecutive named expressions."""

    group_name: str
    pair_separator: str
    variables: frozenset[str]


_Part: TypeAlias = "_Literal | _Expression"
_Capture: TypeAlias = "_ValueCapture | _PairsCapture"


def is_template(uri: str) -> bool:
    """Tell a URI template from a plain URI.

    Neither brace may appear in a URI (RFC 3986 section 2), so any brace means the string is
    meant as a template: a malformed one (``file:///{path``) is then reported by
    :class:`UriTemplate` instead of being served as a static URI.

    Args:
        uri: a resource URI or URI template as a server registered it.

    Returns:
        True if ``uri`` contains ``{`` or ``}``.
    """
    return "{" in uri or "}" in uri


class UriTemplate:
    """An RFC 6570 URI template, parsed and compiled once.

    Args:
        template: the template text, such as ``"repo://{owner}/{repo}/issues{?state,page}"``.
        max_uri_length: :meth:`match` refuses longer URIs without looking at them.

    Raises:
        LocalProtocolError: the template is malformed: an unclosed or stray brace, an empty
            expression, a reserved operator, a bad variable name or modifier, a variable named
            twice, or a character a template may not hold.
    """

    __slots__ = (
        "_captures",
        "_max_uri_length",
        "_parts",
        "_pattern",
        "_refused_characters",
        "_template",
        "_variables",
    )

    def __init__(self, template: str, *, max_uri_length: int = DEFAULT_MAX_URI_LENGTH) -> None:
        self._template: Final = template
        self._max_uri_length: Final = max_uri_length
        self._parts: Final = _parse(template)
        variables = [
            varspec.name
            for part in self._parts
            if isinstance(part, _Expression)
            for varspec in part.varspecs
        ]
        # RFC 6570 lets a name repeat ({.who,who}); we do not, because match() could not give
        # the variable one value.
        repeated = sorted({name for name in variables if variables.count(name) > 1})
        if repeated:
            raise LocalProtocolError(
                f"URI template {template!r} names variable(s) {', '.join(repeated)} more than "
                "once; each variable may appear only once"
            )
        self._variables: Final = tuple(variables)
        pattern, captures = _compile(self._parts)
        self._pattern: Final = pattern
        self._captures: Final = captures
        self._refused_characters: Final = _build_prefilter(self._parts)

    @property
    def template(self) -> str:
        """The template text as given."""
        return self._template

    @property
    def variables(self) -> tuple[str, ...]:
        """The variable names, in order of appearance."""
        return self._variables

    def __repr__(self) -> str:
        return f"UriTemplate({self._template!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UriTemplate):
            return NotImplemented
        return self._template == other._template

    def __hash__(self) -> int:
        return hash(self._template)

    def expand(self, values: Mapping[str, ExpansionValue]) -> str:
        """Expand the template with ``values`` (RFC 6570 section 3.2).

        A name missing from ``values``, mapped to None, or to an empty list or mapping is
        undefined and left out, with its separator (section 2.3). Strings are pct-encoded as
        UTF-8: all but unreserved characters, or for ``{+…}`` and ``{#…}`` all but unreserved
        and reserved characters and existing pct-encoded triplets (section 3.2.1). Lists and
        mappings are joined per operator, ``*`` exploding them (section 2.4.2); ``:N`` keeps the
        first N characters of a string (section 2.4.1).

        Args:
            values: variable name to a string, an integer (written in decimal), a list of
                strings, a mapping of string to string, or None.

        Returns:
            The URI.

        Raises:
            LocalProtocolError: a value has an unsupported type (a bool included, so that
                ``True`` never becomes ``"True"``), a prefix modifier is applied to a list or
                mapping (section 2.4.1), or a string holds a lone surrogate.
        """
        pieces: list[str] = []
        for part in self._parts:
            if isinstance(part, _Literal):
                pieces.append(part.expanded)
            else:
                pieces.append(_expand_expression(part, values))
        return "".join(pieces)

    def match(self, uri: str) -> dict[str, str] | None:
        """Read the variables back out of a URI that fits the template.

        The rules, chosen so that a matched value is safe to use as a file or API path
        component, are in this module's docstring.

        Args:
            uri: the URI a client asked for.

        Returns:
            The pct-decoded value of each variable present, in template order, or None if the
            URI does not fit the template or a value breaks a rule.
        """
        if len(uri) > self._max_uri_length:
            return None
        # A character no part of the template can hold fails the match anyway; finding it
        # first spares the regex the backtracking that an ambiguous template ({a}{b}) costs.
        if self._refused_characters.search(uri) is not None:
            return None
        found = self._pattern.fullmatch(uri)
        if found is None:
            return None
        matched: dict[str, str] = {}
        for capture in self._captures:
            raw = found.group(capture.group_name)
            if isinstance(capture, _ValueCapture):
                value = _decode(raw)
                if value is None or not _is_safe_value(value, capture):
                    return None
                matched[capture.variable] = value
            else:
                pairs = _decode_pairs(raw, capture)
                if pairs is None:
                    return None
                matched.update(pairs)
        return {name: matched[name] for name in self._variables if name in matched}


# --- parsing -------------------------------------------------------------------------------


def _parse(template: str) -> tuple[_Part, ...]:
    """Split a template into literals and expressions (RFC 6570 section 2)."""
    parts: list[_Part] = []
    position = 0
    while position < len(template):
        open_at = template.find("{", position)
        close_at = template.find("}", position)
        if close_at != -1 and (open_at == -1 or close_at < open_at):
            raise _malformed(template, close_at, "'}' without a matching '{'")
        literal_end = len(template) if open_at == -1 else open_at
        if literal_end > position:
            parts.append(_parse_literal(template, position, literal_end))
        if open_at == -1:
            break
        if close_at == -1:
            raise _malformed(template, open_at, "unclosed '{'")
        nested_at = template.find("{", open_at + 1, close_at)
        if nested_at != -1:
            raise _malformed(template, open_at, "unclosed '{' (expressions do not nest)")
        parts.append(_parse_expression(template, open_at, close_at))
        position = close_at + 1
    return tuple(parts)


def _parse_literal(template: str, start: int, end: int) -> _Literal:
    """Check literal text against RFC 6570 section 2.1 and precompute its expansion."""
    position = start
    while position < end:
        character = template[position]
        if character == "%":
            if not re.fullmatch(_PCT_ENCODED, template[position : position + 3]):
                raise _malformed(template, position, "'%' not followed by two hex digits")
            position += 3
            continue
        code_point = ord(character)
        if code_point < _FIRST_UCSCHAR:
            if character not in _LITERAL_ASCII:
                raise _malformed(template, position, f"character {character!r} not allowed")
        elif 0xD800 <= code_point <= 0xDFFF:
            raise _malformed(template, position, "lone surrogate")
        position += 1
    text = template[start:end]
    # Section 3.1: a literal not allowed in a URI is copied as its pct-encoded UTF-8 octets.
    expanded = text if text.isascii() else quote(text, safe=_RESERVED + "%")
    return _Literal(text, expanded)


def _parse_expression(template: str, open_at: int, close_at: int) -> _Expression:
    """Parse the body of one ``{…}`` (RFC 6570 section 2.2 to 2.4)."""
    body = template[open_at + 1 : close_at]
    if not body:
        raise _malformed(template, open_at, "empty expression '{}'")
    operator = _OPERATORS.get(body[0])
    if operator is None:
        if body[0] in _FUTURE_OPERATORS:
            raise _malformed(
                template, open_at, f"operator {body[0]!r} is reserved (RFC 6570 section 2.2)"
            )
        operator = _OPERATORS[""]
    variable_list = body[len(operator.symbol) :]
    varspecs: list[_VarSpec] = []
    for text in variable_list.split(","):
        found = _VARSPEC.fullmatch(text)
        if found is None:
            raise _malformed(
                template,
                open_at,
                f"bad variable {text!r}: a name is letters, digits, '_' and pct-encoded "
                "triplets, with single dots between them, then optionally '*' or ':' and a "
                "length from 1 to 9999 (RFC 6570 sections 2.3 and 2.4)",
            )
        prefix = found.group("prefix")
        varspecs.append(
            _VarSpec(
                name=found.group("name"),
                prefix_length=None if prefix is None else int(prefix),
                explode=found.group("explode") is not None,
            )
        )
    return _Expression(operator, tuple(varspecs))


def _malformed(template: str, offset: int, problem: str) -> LocalProtocolError:
    return LocalProtocolError(f"malformed URI template {template!r} at offset {offset}: {problem}")


# --- expansion -----------------------------------------------------------------------------


def _expand_expression(expression: _Expression, values: Mapping[str, ExpansionValue]) -> str:
    """Expand one expression (RFC 6570 section 3.2.1 and Appendix A)."""
    operator = expression.operator
    pieces: list[str] = []
    for varspec in expression.varspecs:
        try:
            rendered = _expand_varspec(operator, varspec, values.get(varspec.name))
        except UnicodeEncodeError as error:
            raise LocalProtocolError(
                f"value of {varspec.name!r} is not encodable as UTF-8: {error.reason}"
            ) from None
        if rendered is not None:
            pieces.append(rendered)
    if not pieces:
        return ""
    return operator.first + operator.separator.join(pieces)


def _expand_varspec(operator: _Operator, varspec: _VarSpec, value: ExpansionValue) -> str | None:
    """One variable's share of an expression, or None when it is undefined (section 2.3)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise LocalProtocolError(
            f"value of {varspec.name!r} is a bool; pass the string the URI should hold"
        )
    if isinstance(value, str | int):
        text = str(value)
        if varspec.prefix_length is not None:
            text = text[: varspec.prefix_length]
        return _named(operator, varspec.name, _encode(text, operator.allows_reserved))
    if varspec.prefix_length is not None:
        # Section 2.4.1: "Prefix modifiers are not applicable to variables that have composite
        # values."
        raise LocalProtocolError(
            f"prefix modifier on {varspec.name!r}, whose value is a list or mapping"
        )
    pairs = _composite_items(varspec.name, value)
    if pairs is None:
        return None
    encode_reserved = operator.allows_reserved
    if not varspec.explode:
        flattened: list[str] = []
        for key, item in pairs:
            if key is not None:
                flattened.append(_encode(key, encode_reserved))
            flattened.append(_encode(item, encode_reserved))
        joined = ",".join(flattened)
        return f"{varspec.name}={joined}" if operator.named else joined
    exploded: list[str] = []
    for key, item in pairs:
        encoded = _encode(item, encode_reserved)
        if key is None:
            exploded.append(_named(operator, varspec.name, encoded) if operator.named else encoded)
        elif operator.named:
            exploded.append(_named(operator, _encode(key, encode_reserved), encoded))
        else:
            exploded.append(f"{_encode(key, encode_reserved)}={encoded}")
    return operator.separator.join(exploded)


def _named(operator: _Operator, name: str, encoded: str) -> str:
    """``name=value`` for named operators (``;``, ``?``, ``&``), else the value alone."""
    if not operator.named:
        return encoded
    return f"{name}={encoded}" if encoded else name + operator.if_empty


def _composite_items(
    name: str, value: Sequence[str] | Mapping[str, str]
) -> list[tuple[str | None, str]] | None:
    """The members of a list (key None) or mapping, or None when there are none."""
    items: list[tuple[str | None, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if item is None:  # section 2.3: a pair with an undefined value is left out
                continue
            if not isinstance(key, str) or not isinstance(item, str):
                raise LocalProtocolError(f"mapping value of {name!r} must map str to str")
            items.append((key, item))
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for item in value:
            if not isinstance(item, str):
                raise LocalProtocolError(f"list value of {name!r} must hold only str")
            items.append((None, item))
    else:
        raise LocalProtocolError(
            f"value of {name!r} has unsupported type {type(value).__name__}; "
            "use str, int, a list of str or a mapping of str to str"
        )
    return items or None


def _encode(text: str, allows_reserved: bool) -> str:
    """Pct-encode ``text`` as UTF-8 for the operator's allowed set (section 3.2.1)."""
    if not allows_reserved:
        return quote(text, safe="")  # quote() always keeps exactly the unreserved set
    # U+R: reserved characters and existing pct-encoded triplets pass through unchanged.
    pieces = _PCT_TRIPLET_SPLIT.split(text)
    return "".join(
        piece if index % 2 else quote(piece, safe=_RESERVED) for index, piece in enumerate(pieces)
    )


# --- matching ------------------------------------------------------------------------------


def _char_class(allowed_ascii: str) -> str:
    """A regex class of the given ASCII characters plus every non-ASCII ucschar."""
    escaped = "".join(
        "\\" + character if character in "\\]^-[" else character for character in allowed_ascii
    )
    return f"[{escaped}\\u00a0-\\U0010ffff]"


def _value_pattern(allowed_ascii: str, *, min_one: bool, possessive: bool = False) -> str:
    quantifier = ("+" if min_one else "*") + ("+" if possessive else "")
    return f"(?:{_char_class(allowed_ascii)}|{_PCT_ENCODED}){quantifier}"


def _without(characters: str, removed: str) -> str:
    return "".join(character for character in characters if character not in removed)


def _literal_pattern(text: str) -> str:
    """A regex matching a literal as written, non-ASCII also in pct-encoded UTF-8 form."""
    pieces: list[str] = []
    for index, piece in enumerate(_PCT_TRIPLET_SPLIT.split(text)):
        if index % 2:
            pieces.append(_any_case(piece))
            continue
        for character in piece:
            if character.isascii():
                pieces.append(re.escape(character))
            else:
                encoded = "".join(f"%{octet:02X}" for octet in character.encode("utf-8"))
                pieces.append(f"(?:{re.escape(character)}|{_any_case(encoded)})")
    return "".join(pieces)


def _any_case(pct_encoded: str) -> str:
    """A regex for pct-encoded triplets with hex digits in either case (RFC 3986 section 2.1)."""
    return "".join(
        f"[{character.upper()}{character.lower()}]" if character.isalpha() else character
        for character in pct_encoded
    )


def _compile(parts: tuple[_Part, ...]) -> tuple[re.Pattern[str], tuple[_Capture, ...]]:
    """Build the one anchored regex for :meth:`UriTemplate.match`, and what each group holds."""
    pieces: list[str] = []
    # A pairs group is built as (group name, pair separator, names) so that later expressions
    # can join it: "{?a}{&b}" is one query, "{;a}{;b}" one run of parameters.
    captures: list[_ValueCapture | tuple[str, str, list[str]]] = []
    open_pairs: tuple[str, str, list[str]] | None = None
    for index, part in enumerate(parts):
        if isinstance(part, _Literal):
            pieces.append(_literal_pattern(part.text))
            open_pairs = None  # a literal in between ends the run of pairs
        elif part.operator.named:
            names = [varspec.name for varspec in part.varspecs]
            if open_pairs is not None and open_pairs[1] == part.operator.symbol:
                open_pairs[2].extend(names)  # the open group's regex already takes its pairs
            else:
                group_name = f"g{len(captures)}"
                pieces.append(_pairs_pattern(part.operator, group_name))
                open_pairs = (group_name, part.operator.separator, names)
                captures.append(open_pairs)
        else:
            open_pairs = None
            previous = parts[index - 1] if index else None
            # "scheme://" ends in "/" too, but there a value starting with "/" is the path after
            # an empty authority (file://{+path} with /etc/hosts), which the author asked for.
            preceded_by_slash = (
                isinstance(previous, _Literal)
                and previous.text.endswith("/")
                and not previous.text.endswith("://")
            )
            pattern, value_captures = _values_pattern(
                part, len(captures), preceded_by_slash, _first_characters(parts, index + 1)
            )
            pieces.append(pattern)
            captures.extend(value_captures)
    frozen_captures = tuple(
        capture
        if isinstance(capture, _ValueCapture)
        else _PairsCapture(capture[0], capture[1], frozenset(capture[2]))
        for capture in captures
    )
    return re.compile("".join(pieces)), frozen_captures


def _first_characters(parts: tuple[_Part, ...], start: int) -> frozenset[str] | None:
    """The characters the rest of a URI may start with from ``parts[start]`` on.

    "" stands for the end of the URI; None means any character (an expression without a
    leading operator character, such as ``{var}`` or ``{+var}``).
    """
    if start == len(parts):
        return frozenset({""})
    part = parts[start]
    if isinstance(part, _Literal):
        return frozenset({part.text[0]})
    if not part.operator.named:
        # match() requires every variable of an unnamed expression, so its first character
        # is always there.
        return frozenset({part.operator.first}) if part.operator.first else None
    rest = _first_characters(parts, start + 1)  # named expressions may be absent
    return None if rest is None else rest | {part.operator.first}


def _build_prefilter(parts: tuple[_Part, ...]) -> re.Pattern[str]:
    """A regex that finds any ASCII character no match of this template can hold."""
    allowed = set("%" + string.hexdigits)
    for part in parts:
        if isinstance(part, _Literal):
            allowed.update(character for character in part.text if character.isascii())
        elif part.operator.named:
            allowed.update(_SEGMENT_CHARS + part.operator.first + part.operator.separator)
        elif part.operator.symbol == "+":
            allowed.update(_RESERVED_PATH_CHARS + part.operator.first)
        elif part.operator.symbol == "#":
            allowed.update(_FRAGMENT_CHARS + part.operator.first)
        else:
            allowed.update(_SEGMENT_CHARS + part.operator.first)
    refused = "".join(sorted(chr(code) for code in range(128) if chr(code) not in allowed))
    return re.compile(f"[{re.escape(refused)}]")


def _pairs_pattern(operator: _Operator, group_name: str) -> str:
    """The regex for the ``name=value`` pairs of a ``{;…}``, ``{?…}`` or ``{&…}``."""
    value = _value_pattern(_without(_SEGMENT_CHARS, operator.separator), min_one=False)
    if operator.symbol == ";":
        pair = f"{_PAIR_NAME}(?:={value})?"  # section 3.2.7: an empty value is ";name"
        return f"(?P<{group_name}>(?:;{pair})*)"
    pair = f"{_PAIR_NAME}={value}"  # sections 3.2.8 and 3.2.9: an empty value is "name="
    if operator.symbol == "?":
        return f"(?P<{group_name}>\\?{pair}(?:&{pair})*)?"
    return f"(?P<{group_name}>(?:&{pair})*)"


def _values_pattern(
    expression: _Expression,
    first_group_number: int,
    preceded_by_slash: bool,
    following: frozenset[str] | None,
) -> tuple[str, list[_ValueCapture]]:
    """The regex for an unnamed expression, one group per variable, each required.

    A value is matched possessively (no backtracking) when nothing that may follow it could
    also continue it: then giving characters back can never help, and declining to try keeps
    the work linear where a template allows it.
    """
    operator = expression.operator
    if operator.symbol == "+":
        allowed = _RESERVED_PATH_CHARS
    elif operator.symbol == "#":
        allowed = _FRAGMENT_CHARS
    else:
        allowed = _SEGMENT_CHARS
    if len(expression.varspecs) > 1:
        allowed = _without(allowed, operator.separator)
    inner_value = _value_pattern(allowed, min_one=True, possessive=True)
    last_value = _value_pattern(
        allowed, min_one=True, possessive=_cannot_continue(allowed, following)
    )
    # Only a value right after the template's own "/" can turn the path absolute.
    after_slash = preceded_by_slash and operator.first == ""
    groups: list[str] = []
    captures: list[_ValueCapture] = []
    last_offset = len(expression.varspecs) - 1
    for offset, varspec in enumerate(expression.varspecs):
        group_name = f"v{first_group_number + offset}"
        # Within the expression a value is followed by the separator, which it cannot hold.
        value = last_value if offset == last_offset else inner_value
        groups.append(f"(?P<{group_name}>{value})")
        captures.append(
            _ValueCapture(
                group_name,
                varspec.name,
                spans_slashes=operator.allows_reserved,
                preceded_by_slash=after_slash and offset == 0,
            )
        )
    pattern = re.escape(operator.first) + re.escape(operator.separator).join(groups)
    return pattern, captures


def _cannot_continue(allowed_ascii: str, following: frozenset[str] | None) -> bool:
    """Whether no character that may follow a value could be part of that value."""
    if following is None:
        return False
    return all(
        character == "" or (character.isascii() and character not in allowed_ascii + "%")
        for character in following
    )


def _decode(raw: str) -> str | None:
    """Pct-decode once as strict UTF-8; None for bad UTF-8 or a lone surrogate."""
    if "%" not in raw:
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return raw
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeError:
        return None


def _forms(value: str) -> tuple[str, ...]:
    """The value, and its NFKC form if that differs, so look-alike separators are caught."""
    if value.isascii():
        return (value,)
    normalized = unicodedata.normalize("NFKC", value)
    return (value,) if normalized == value else (value, normalized)


def _is_safe_segment(value: str, *, allows_empty: bool) -> bool:
    if not value:
        return allows_empty
    return all(
        form not in _DOT_SEGMENTS and _SEGMENT_FORBIDDEN.search(form) is None
        for form in _forms(value)
    )


def _is_safe_path(value: str, *, preceded_by_slash: bool) -> bool:
    if not value:
        return False
    for form in _forms(value):
        if _PATH_FORBIDDEN.search(form) is not None:
            return False
        # A leading "//" is a scheme-relative reference (RFC 3986 section 4.2); a leading "/"
        # after the template's own "/" would make the path absolute.
        if form.startswith("//") or (preceded_by_slash and form.startswith("/")):
            return False
        # RFC 3986 section 3.3: "." and ".." segments are for relative reference only.
        if not _DOT_SEGMENTS.isdisjoint(form.split("/")):
            return False
    return True


def _is_safe_value(value: str, capture: _ValueCapture) -> bool:
    if capture.spans_slashes:
        return _is_safe_path(value, preceded_by_slash=capture.preceded_by_slash)
    return _is_safe_segment(value, allows_empty=False)


def _decode_pairs(raw: str | None, capture: _PairsCapture) -> dict[str, str] | None:
    """The variables in a run of ``name=value`` pairs, or None if one breaks a rule."""
    if not raw:
        return {}
    pairs: dict[str, str] = {}
    for pair in raw[1:].split(capture.pair_separator):
        name, _, raw_value = pair.partition("=")
        if name not in capture.variables or name in pairs:
            return None
        value = _decode(raw_value)
        if value is None or not _is_safe_segment(value, allows_empty=True):
            return None
        pairs[name] = value
    return pairs
