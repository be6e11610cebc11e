"""A safe arithmetic evaluator: the logic behind the ``calculate`` tool.

Owns turning one untrusted line of arithmetic into a number, and that number into text. The
input comes from a remote model, so it is treated as hostile: it is never handed to ``eval``,
``exec`` or ``compile``. It is parsed with :func:`ast.parse` and the tree is walked by an
evaluator that knows a small allowlist of nodes, names and :mod:`math` functions; anything else
is refused with a :class:`CalculationError` that says what was not allowed and where.

Every cost is bounded before it is paid, so each call returns or raises within milliseconds:
the text is capped in length and bracket depth before Python's parser sees it, powers and
factorials are refused from an estimate of their size before they are computed, and every
intermediate integer is capped in digits. The walk over the tree is iterative, so a long chain
such as ``1+1+...+1`` cannot exhaust the Python stack.

Registering the MCP tool, and turning :class:`CalculationError` into an ``isError`` result, is
left to :mod:`ssemcp.toolsets.utilities`.
"""

from __future__ import annotations

import ast
import decimal
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "MAX_FACTORIAL_ARGUMENT",
    "MAX_INTEGER_DIGITS",
    "MAX_PARENTHESES_DEPTH",
    "CalculationError",
    "evaluate",
    "format_number",
]

# The longest formula a person or a model writes for a calculator is a few hundred characters.
# A thousand keeps parsing under a millisecond and the tree under ~1 500 nodes, and a 1 MB
# string is refused by one len() before anything else looks at it.
MAX_EXPRESSION_CHARS: Final = 1_000

# Python's tokenizer gives up at 200 open brackets (MAXLEVEL in Parser/tokenizer.h) and its
# parser recurses in C once per level; half of that is still far deeper than any arithmetic
# anyone writes, and is checked by a plain scan before the parser runs.
MAX_PARENTHESES_DEPTH: Final = 100

# CPython's default limit on int <-> str conversion (sys.int_info.default_max_str_digits, added
# in 3.11 for CVE-2020-10735). Capping every intermediate integer there means the answer can
# always be printed. The costliest operation left is a gcd of two 4 300-digit numbers (~0.35 ms),
# so the worst expression that fits in MAX_EXPRESSION_CHARS (47 such gcds) takes ~17 ms.
MAX_INTEGER_DIGITS: Final = 4_300

# 1000! has 2 568 digits (under MAX_INTEGER_DIGITS) and takes ~20 us; 2000! would not fit.
# The same bound applies to the n of comb(n, k) and perm(n, k), whose results are at most n!.
MAX_FACTORIAL_ARGUMENT: Final = 1_000

# |integer| < this, i.e. at most MAX_INTEGER_DIGITS digits. Precomputed once: comparing with it
# is exact and costs O(digits), unlike counting digits through str().
_INTEGER_LIMIT: Final = 10**MAX_INTEGER_DIGITS

# A power of |base| >= 2 has at least `exponent` bits; past this many bits it cannot fit.
_MAX_INTEGER_BITS: Final = math.ceil(MAX_INTEGER_DIGITS * math.log2(10))

# round(x, n) for |n| beyond this gives the same answer as at this bound (every allowed number
# is below 10**MAX_INTEGER_DIGITS), while round(15, -10**6) would spend 170 ms building 10**10**6.
_ROUND_DIGITS_LIMIT: Final = MAX_INTEGER_DIGITS + 1

# Longest piece of user input repeated inside an error message.
_MAX_QUOTED_CHARS: Final = 40

# Whitespace Python's tokenizer accepts besides the space; everything else must be printable
# ASCII. Rejecting the rest up front keeps non-ASCII look-alikes, control characters and NUL
# away from the parser and lets the error point at the exact character.
_ALLOWED_WHITESPACE: Final = frozenset("\t\n\r")

# Characters that only start strings or escapes. Strings are never allowed, and refusing them
# before parsing keeps the parser from warning about escape sequences in text we chose.
_STRING_CHARACTERS: Final = frozenset("'\"\\")

# Characters a model might paste from typeset mathematics, with what to write instead.
_CHARACTER_HINTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "\u00d7": "use * to multiply",
        "\u00b7": "use * to multiply",
        "\u22c5": "use * to multiply",
        "\u00f7": "use / to divide",
        "\u2212": "use - (ASCII hyphen-minus) to subtract",
        "\u03c0": "write pi",
        "\u221a": "write sqrt(x)",
        "\u00b2": "write x**2",
        "\u00b3": "write x**3",
    }
)

_CONSTANTS: Final[Mapping[str, float]] = MappingProxyType(
    {"e": math.e, "pi": math.pi, "tau": math.tau}
)


class CalculationError(ValueError):
    """The expression is not allowed, not valid, or has no finite real value within bounds.

    The message is meant for whoever wrote the expression (usually a model) and says what to
    change; it never contains a traceback.
    """


# --- the allowlisted functions --------------------------------------------------------------------


def _too_large_integer(operation: str) -> CalculationError:
    return CalculationError(
        f"result of {operation} is too large (more than {MAX_INTEGER_DIGITS} digits)"
    )


def _too_large_float(operation: str) -> CalculationError:
    return CalculationError(
        f"result of {operation} is too large (beyond the floating-point range, about 1.8e308)"
    )


def _absolute(number: int | float) -> int | float:
    return abs(number)


def _minimum(*numbers: int | float) -> int | float:
    return min(numbers)


def _maximum(*numbers: int | float) -> int | float:
    return max(numbers)


def _round(number: int | float, ndigits: int | None = None) -> int | float:
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int):
        ndigits = max(-_ROUND_DIGITS_LIMIT, min(ndigits, _ROUND_DIGITS_LIMIT))
    return round(number, ndigits)


def _check_factorial_size(argument: int | float, name: str) -> None:
    if isinstance(argument, int) and argument > MAX_FACTORIAL_ARGUMENT:
        raise CalculationError(
            f"{name}: argument larger than {MAX_FACTORIAL_ARGUMENT} is not allowed "
            f"(the result would be too large)"
        )


def _factorial(number: int) -> int:
    _check_factorial_size(number, "factorial")
    return math.factorial(number)


def _comb(total: int, chosen: int) -> int:
    _check_factorial_size(total, "comb")
    return math.comb(total, chosen)


def _perm(total: int, chosen: int | None = None) -> int:
    _check_factorial_size(total, "perm")
    return math.perm(total, chosen)


@dataclass(frozen=True, slots=True)
class _Function:
    """An allowlisted function: what to call and how many positional arguments it takes."""

    implementation: Callable[..., int | float]
    min_arguments: int
    max_arguments: int | None  # None: any number

    def describe_arity(self) -> str:
        """Say how many arguments the function takes, for an error message."""
        if self.max_arguments is None:
            count, noun = f"at least {self.min_arguments}", self.min_arguments
        elif self.min_arguments == self.max_arguments:
            count, noun = str(self.min_arguments), self.min_arguments
        else:
            count, noun = f"{self.min_arguments} or {self.max_arguments}", self.max_arguments
        return f"{count} argument{'' if noun == 1 else 's'}"


_FUNCTIONS: Final[Mapping[str, _Function]] = MappingProxyType(
    {
        "abs": _Function(_absolute, 1, 1),
        "acos": _Function(math.acos, 1, 1),
        "asin": _Function(math.asin, 1, 1),
        "atan": _Function(math.atan, 1, 1),
        "atan2": _Function(math.atan2, 2, 2),
        "ceil": _Function(math.ceil, 1, 1),
        "comb": _Function(_comb, 2, 2),
        "cos": _Function(math.cos, 1, 1),
        "cosh": _Function(math.cosh, 1, 1),
        "degrees": _Function(math.degrees, 1, 1),
        "exp": _Function(math.exp, 1, 1),
        "fabs": _Function(math.fabs, 1, 1),
        "factorial": _Function(_factorial, 1, 1),
        "floor": _Function(math.floor, 1, 1),
        "gcd": _Function(math.gcd, 1, None),
        "hypot": _Function(math.hypot, 1, None),
        "isqrt": _Function(math.isqrt, 1, 1),
        "log": _Function(math.log, 1, 2),
        "log10": _Function(math.log10, 1, 1),
        "log2": _Function(math.log2, 1, 1),
        "max": _Function(_maximum, 1, None),
        "min": _Function(_minimum, 1, None),
        "perm": _Function(_perm, 1, 2),
        "radians": _Function(math.radians, 1, 1),
        "round": _Function(_round, 1, 2),
        "sin": _Function(math.sin, 1, 1),
        "sinh": _Function(math.sinh, 1, 1),
        "sqrt": _Function(math.sqrt, 1, 1),
        "tan": _Function(math.tan, 1, 1),
        "tanh": _Function(math.tanh, 1, 1),
        "trunc": _Function(math.trunc, 1, 1),
    }
)

_ALLOWED_NAMES_TEXT: Final = ", ".join(sorted(_CONSTANTS))
_ALLOWED_FUNCTIONS_TEXT: Final = ", ".join(sorted(_FUNCTIONS))


# --- what is refused, and how it is explained -----------------------------------------------------

_BINARY_OPERATOR_SYMBOLS: Final[Mapping[type[ast.operator], str]] = MappingProxyType(
    {
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.Div: "/",
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.Pow: "**",
    }
)

_REFUSED_OPERATORS: Final[Mapping[type[ast.AST], str]] = MappingProxyType(
    {
        ast.BitXor: "operator '^' (bitwise xor) is not allowed; use ** for powers",
        ast.BitAnd: "operator '&' (bitwise and) is not allowed",
        ast.BitOr: "operator '|' (bitwise or) is not allowed",
        ast.LShift: "operator '<<' (shift) is not allowed",
        ast.RShift: "operator '>>' (shift) is not allowed",
        ast.MatMult: "operator '@' (matrix multiplication) is not allowed",
        ast.Invert: "operator '~' (bitwise not) is not allowed",
        ast.Not: "operator 'not' is not allowed",
    }
)

_REFUSED_NODES: Final[Mapping[type[ast.AST], str]] = MappingProxyType(
    {
        ast.Attribute: "attribute access (.name) is not allowed",
        ast.Subscript: "subscripts ([...]) are not allowed",
        ast.Slice: "slices are not allowed",
        ast.ListComp: "comprehensions are not allowed",
        ast.SetComp: "comprehensions are not allowed",
        ast.DictComp: "comprehensions are not allowed",
        ast.GeneratorExp: "comprehensions are not allowed",
        ast.Lambda: "lambda is not allowed",
        ast.Compare: "comparisons are not allowed",
        ast.BoolOp: "'and' and 'or' are not allowed",
        ast.IfExp: "conditional expressions (... if ... else ...) are not allowed",
        ast.NamedExpr: "assignment expressions (:=) are not allowed",
        ast.JoinedStr: "f-strings are not allowed",
        ast.FormattedValue: "f-strings are not allowed",
        ast.Tuple: "tuples are not allowed",
        ast.List: "lists are not allowed",
        ast.Set: "sets are not allowed",
        ast.Dict: "dicts are not allowed",
        ast.Starred: "starred expressions (*) are not allowed",
        ast.Await: "'await' is not allowed",
        ast.Yield: "'yield' is not allowed",
        ast.YieldFrom: "'yield' is not allowed",
    }
)


@dataclass(frozen=True, slots=True)
class _Source:
    """Where the parsed text sits in the original expression, to report positions in it."""

    leading_chars: int  # spaces and tabs stripped from the start before parsing

    def position(self, line: int, column: int) -> str:
        """Describe a 1-based line and column of the parsed text as a place in the input."""
        if line <= 1:
            return f"column {column + self.leading_chars}"
        return f"line {line}, column {column}"

    def position_of(self, node: ast.AST) -> str:
        """Describe where a node starts. Columns are exact because input is ASCII only."""
        return self.position(getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)


def _quote(text: str) -> str:
    if len(text) > _MAX_QUOTED_CHARS:
        text = text[:_MAX_QUOTED_CHARS] + "..."
    return f"'{text}'"


# --- checks before parsing ------------------------------------------------------------------------


def _position_in_text(text: str, index: int) -> str:
    """Describe a 0-based index into the raw input as a 1-based line and column."""
    line_start = text.rfind("\n", 0, index) + 1
    column = index - line_start + 1
    if line_start == 0:
        return f"column {column}"
    line = text.count("\n", 0, index) + 1
    return f"line {line}, column {column}"


def _check_text(expression: str) -> None:
    """Refuse text the parser should never see: too long, odd characters, too deep.

    Raises:
        CalculationError: naming the first problem and where it is.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculationError(
            f"expression is too long ({len(expression)} characters; "
            f"at most {MAX_EXPRESSION_CHARS} are allowed)"
        )
    if not expression.strip():
        raise CalculationError("expression is empty")
    depth = 0
    for index, character in enumerate(expression):
        if character in _STRING_CHARACTERS:
            raise CalculationError(
                f"strings are not allowed (character {character!r} at "
                f"{_position_in_text(expression, index)})"
            )
        if not (" " <= character <= "~" or character in _ALLOWED_WHITESPACE):
            message = (
                f"character {character!r} (U+{ord(character):04X}) at "
                f"{_position_in_text(expression, index)} is not allowed"
            )
            hint = _CHARACTER_HINTS.get(character)
            raise CalculationError(f"{message}; {hint}" if hint else message)
        if character in "([{":
            depth += 1
            if depth > MAX_PARENTHESES_DEPTH:
                raise CalculationError(
                    f"expression is nested too deeply (more than {MAX_PARENTHESES_DEPTH} "
                    f"open brackets at {_position_in_text(expression, index)})"
                )
        elif character in ")]}":
            depth -= 1


def _parse(expression: str) -> tuple[ast.Expression, _Source]:
    """Parse checked text into an expression tree.

    Raises:
        CalculationError: for a syntax error (with its position) or a tree too deep to build.
    """
    text = expression.lstrip(" \t")  # as eval() does: leading indentation is not an error
    source = _Source(leading_chars=len(expression) - len(text))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        if exc.offset and exc.lineno:
            where = source.position(exc.lineno, exc.offset)
            raise CalculationError(f"syntax error at {where}: {exc.msg}") from None
        # CPython gives no position when the text ends mid-expression ("1 +").
        raise CalculationError(
            f"syntax error: {exc.msg} (the expression may be incomplete)"
        ) from None
    except (RecursionError, MemoryError):
        # Long runs of unary operators ("-----1") nest without brackets; the parser's own
        # recursion guard is what stops them.
        raise CalculationError("expression is nested too deeply to parse") from None
    except ValueError as exc:  # e.g. an integer literal past a lowered int_max_str_digits
        raise CalculationError(f"syntax error: {exc}") from None
    return tree, source


# --- checks on the tree ---------------------------------------------------------------------------


def _children(node: ast.expr) -> list[ast.expr]:
    """The sub-expressions the evaluator descends into, in evaluation order."""
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _check_constant(node: ast.Constant, source: _Source) -> None:
    value = node.value
    where = source.position_of(node)
    if isinstance(value, bool):
        raise CalculationError(f"True and False are not allowed (at {where})")
    if isinstance(value, float) and math.isinf(value):
        raise CalculationError(
            f"number at {where} is too large (beyond the floating-point range, about 1.8e308)"
        )
    if type(value) is int or type(value) is float:
        return
    if isinstance(value, complex):
        raise CalculationError(f"complex numbers are not allowed (at {where})")
    if isinstance(value, str | bytes):
        raise CalculationError(f"strings are not allowed (at {where})")
    raise CalculationError(f"{value!r} is not allowed (at {where})")


def _check_name(node: ast.Name, source: _Source) -> None:
    if node.id in _CONSTANTS:
        return
    if node.id in _FUNCTIONS:
        raise CalculationError(
            f"'{node.id}' is a function; call it like {node.id}(x) (at {source.position_of(node)})"
        )
    raise CalculationError(
        f"unknown name {_quote(node.id)} at {source.position_of(node)}; "
        f"allowed names: {_ALLOWED_NAMES_TEXT}"
    )


def _check_call(node: ast.Call, source: _Source) -> None:
    if not isinstance(node.func, ast.Name):
        _check_node(node.func, source)  # names what is refused, e.g. attribute access
        raise CalculationError(
            f"only allowed functions may be called, by name (at {source.position_of(node)})"
        )
    name = node.func.id
    function = _FUNCTIONS.get(name)
    if function is None:
        if name in _CONSTANTS:
            raise CalculationError(f"'{name}' is a constant, not a function")
        raise CalculationError(
            f"unknown function {_quote(name)}; allowed: {_ALLOWED_FUNCTIONS_TEXT}"
        )
    if node.keywords:
        raise CalculationError(f"{name}: keyword arguments are not allowed")
    for argument in node.args:
        if isinstance(argument, ast.Starred):
            raise CalculationError(f"{name}: starred arguments (*) are not allowed")
    count = len(node.args)
    if count < function.min_arguments or (
        function.max_arguments is not None and count > function.max_arguments
    ):
        raise CalculationError(f"{name} takes {function.describe_arity()} ({count} given)")


def _check_node(node: ast.AST, source: _Source) -> None:
    """Refuse one node unless it is on the allowlist.

    Raises:
        CalculationError: naming the construct and where it is.
    """
    if isinstance(node, ast.Constant):
        _check_constant(node, source)
    elif isinstance(node, ast.Name):
        _check_name(node, source)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.UAdd | ast.USub):
            message = _REFUSED_OPERATORS.get(type(node.op), "this operator is not allowed")
            raise CalculationError(f"{message} (at {source.position_of(node)})")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY_OPERATOR_SYMBOLS:
            message = _REFUSED_OPERATORS.get(type(node.op), "this operator is not allowed")
            raise CalculationError(f"{message} (at {source.position_of(node)})")
    elif isinstance(node, ast.Call):
        _check_call(node, source)
    else:
        message = _REFUSED_NODES.get(type(node), f"{type(node).__name__} is not allowed")
        raise CalculationError(f"{message} (at {source.position_of(node)})")


def _check_tree(tree: ast.Expression, source: _Source) -> None:
    """Refuse the whole tree if any node is off the allowlist, before anything is computed."""
    pending: list[ast.expr] = [tree.body]
    while pending:
        node = pending.pop()
        _check_node(node, source)
        pending.extend(_children(node))


# --- arithmetic -----------------------------------------------------------------------------------


def _checked(value: object, operation: str) -> int | float:
    """Return an intermediate result if it is a finite real number within bounds.

    Raises:
        CalculationError: if it is too large, not a number, or not real.
    """
    if type(value) is int:
        if -_INTEGER_LIMIT < value < _INTEGER_LIMIT:
            return value
        raise _too_large_integer(operation)
    if type(value) is float:
        if math.isinf(value):
            raise _too_large_float(operation)
        if math.isnan(value):
            raise CalculationError(f"result of {operation} is not a number")
        return value
    raise CalculationError(f"result of {operation} is not a real number")


def _power(base: int | float, exponent: int | float) -> int | float:
    """``base ** exponent``, refused from an estimate before a huge result is computed."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        if base in (0, 1) or exponent == 0:
            return 1 if exponent == 0 else base
        if base == -1:
            return 1 if exponent % 2 == 0 else -1
        # |base| >= 2 from here, so the result has at least `exponent` bits.
        if exponent > _MAX_INTEGER_BITS:
            raise _too_large_integer("**")
        estimated_digits = exponent * math.log10(abs(base))
        if estimated_digits > MAX_INTEGER_DIGITS + 1:  # +1: the float estimate is approximate
            raise _too_large_integer("**")
        power: int = base**exponent  # at most a digit past the bound; _checked decides
        return power
    try:
        base_float, exponent_float = float(base), float(exponent)
    except OverflowError:
        raise _too_large_float("**") from None
    if base_float == 0 and exponent_float < 0:
        raise CalculationError("division by zero (zero to a negative power)")
    if base_float < 0 and not exponent_float.is_integer():
        raise CalculationError(
            "**: math domain error (a negative number to a fractional power is not real)"
        )
    try:
        return math.pow(base_float, exponent_float)
    except OverflowError:
        raise _too_large_float("**") from None


def _apply_binary(operator: ast.operator, left: int | float, right: int | float) -> int | float:
    symbol = _BINARY_OPERATOR_SYMBOLS[type(operator)]
    try:
        if isinstance(operator, ast.Add):
            result = left + right
        elif isinstance(operator, ast.Sub):
            result = left - right
        elif isinstance(operator, ast.Mult):
            result = left * right
        elif isinstance(operator, ast.Div):
            result = left / right
        elif isinstance(operator, ast.FloorDiv):
            result = left // right
        elif isinstance(operator, ast.Mod):
            result = left % right
        else:
            result = _power(left, right)
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except OverflowError:  # an operand or the quotient does not fit a float
        raise _too_large_float(symbol) from None
    return _checked(result, symbol)


def _apply_call(name: str, arguments: list[int | float]) -> int | float:
    function = _FUNCTIONS[name]
    try:
        result = function.implementation(*arguments)
    except CalculationError:
        raise
    except ZeroDivisionError:
        raise CalculationError(f"{name}: division by zero") from None
    except OverflowError:
        raise _too_large_float(name) from None
    except (ValueError, TypeError) as exc:
        # The math module's messages ("math domain error", "factorial() not defined for
        # negative values", "'float' object cannot be interpreted as an integer") name types
        # and rules, never input text, so they can be passed on.
        raise CalculationError(f"{name}: {exc}") from None
    return _checked(result, name)


def _evaluate_tree(tree: ast.Expression) -> int | float:
    """Compute a checked tree without recursion: a post-order walk with an explicit stack."""
    pending: list[tuple[ast.expr, bool]] = [(tree.body, False)]
    values: list[int | float] = []
    while pending:
        node, children_done = pending.pop()
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float):  # refused by _check_tree already
                raise CalculationError(f"{node.value!r} is not allowed")
            values.append(node.value)
        elif isinstance(node, ast.Name):
            values.append(_CONSTANTS[node.id])
        elif not children_done:
            pending.append((node, True))
            pending.extend((child, False) for child in reversed(_children(node)))
        elif isinstance(node, ast.UnaryOp):
            operand = values.pop()
            values.append(-operand if isinstance(node.op, ast.USub) else +operand)
        elif isinstance(node, ast.BinOp):
            right = values.pop()
            left = values.pop()
            values.append(_apply_binary(node.op, left, right))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            count = len(node.args)
            arguments = values[len(values) - count :]
            del values[len(values) - count :]
            values.append(_apply_call(node.func.id, arguments))
    return values[0]


# --- public API -----------------------------------------------------------------------------------


def evaluate(expression: str) -> int | float:
    """Evaluate one arithmetic expression safely.

    Allowed: int and float literals; unary ``+ -``; binary ``+ - * / // % **``; parentheses;
    the names ``pi``, ``e`` and ``tau``; and calls, by bare name and with positional arguments
    only, to ``abs acos asin atan atan2 ceil comb cos cosh degrees exp fabs factorial floor gcd
    hypot isqrt log log10 log2 max min perm radians round sin sinh sqrt tan tanh trunc``.
    Arithmetic follows Python's: ``7 / 2`` is ``3.5``, ``7 // 2`` is ``3``, ``-7 % 3`` is ``2``.

    Args:
        expression: the text to evaluate, at most :data:`MAX_EXPRESSION_CHARS` characters of
            printable ASCII (tabs and line breaks allowed).

    Returns:
        The value: an ``int`` of at most :data:`MAX_INTEGER_DIGITS` digits, or a finite
        ``float``.

    Raises:
        CalculationError: for anything not allowed, a syntax error, a domain error
            (``sqrt(-1)``), division by zero, or a result (or intermediate result) too large.
            No other exception escapes.
    """
    if not isinstance(expression, str):
        raise CalculationError("expression must be a string")
    _check_text(expression)
    tree, source = _parse(expression)
    _check_tree(tree, source)
    return _evaluate_tree(tree)


def format_number(value: int | float) -> str:
    """Write a result as text for the tool's output.

    Integers are written in full, whatever the interpreter's int/str digit limit is set to.
    Floats are written with ``repr`` (the shortest text that reads back as the same float), so
    ``0.1 + 0.2`` shows as ``0.30000000000000004`` and ``2 / 1`` as ``2.0``: a float never looks
    like an exact integer. Negative zero is written ``0.0``.

    Args:
        value: a number, usually from :func:`evaluate`.

    Returns:
        The text.
    """
    if isinstance(value, int):
        integer = int(value)  # a bool prints as 0 or 1
        try:
            return str(integer)
        except ValueError:  # sys.set_int_max_str_digits() was lowered below our bound
            return str(decimal.Decimal(integer))
    if value == 0:
        return "0.0"
    return repr(value)
