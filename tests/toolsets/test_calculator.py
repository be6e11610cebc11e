"""The safe arithmetic evaluator: what it computes, what it refuses, and every bound."""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssemcp.toolsets.utilities.calculator import (
    MAX_EXPRESSION_CHARS,
    MAX_FACTORIAL_ARGUMENT,
    MAX_INTEGER_DIGITS,
    MAX_PARENTHESES_DEPTH,
    CalculationError,
    evaluate,
    format_number,
)

# --- what is computed -----------------------------------------------------------------------------

GOOD_EXPRESSIONS: list[tuple[str, int | float]] = [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("7 / 2", 3.5),
    ("6 / 3", 2.0),
    ("7 // 2", 3),
    ("-7 // 2", -4),
    ("-7 % 3", 2),
    ("7 % -3", -2),
    ("7.5 % 2", 1.5),
    ("2 ** 10", 1024),
    ("2 ** -2", 0.25),
    ("2 ** 0.5", math.sqrt(2)),
    ("-2 ** 2", -4),
    ("(-2) ** 3", -8),
    ("(-2) ** 2.0", 4.0),
    ("0 ** 0", 1),
    ("(-1) ** 10001", -1),
    ("1 ** 100000000000000000000", 1),
    ("+-+1", -1),
    ("1.5e3", 1500.0),
    ("1e-999", 0.0),
    ("0x10 + 0o10 + 0b10", 26),
    ("1_000_000", 1_000_000),
    ("pi", math.pi),
    ("e", math.e),
    ("tau", math.tau),
    ("2 * pi", 2 * math.pi),
    ("abs(-3)", 3),
    ("abs(-2.5)", 2.5),
    ("acos(1)", 0.0),
    ("asin(1)", math.asin(1)),
    ("atan(1)", math.atan(1)),
    ("atan2(1, 1)", math.atan2(1, 1)),
    ("ceil(2.1)", 3),
    ("comb(5, 2)", 10),
    ("cos(pi)", -1.0),
    ("cosh(0)", 1.0),
    ("degrees(pi)", 180.0),
    ("exp(1)", math.e),
    ("fabs(-3)", 3.0),
    ("factorial(5)", 120),
    ("floor(-2.5)", -3),
    ("gcd(12, 18, 27)", 3),
    ("hypot(3, 4)", 5.0),
    ("isqrt(17)", 4),
    ("log(e)", 1.0),
    ("log(8, 2)", 3.0),
    ("log10(1000)", 3.0),
    ("log2(1024)", 10.0),
    ("max(1, 2.5, -3)", 2.5),
    ("min(3, 1, 2)", 1),
    ("perm(5, 2)", 20),
    ("perm(4)", 24),
    ("radians(180)", math.pi),
    ("round(2.5)", 2),
    ("round(3.14159, 2)", 3.14),
    ("round(1234, -2)", 1200),
    ("sin(0)", 0.0),
    ("sinh(0)", 0.0),
    ("sqrt(16)", 4.0),
    ("tan(0)", 0.0),
    ("tanh(0)", 0.0),
    ("trunc(-2.7)", -2),
    ("sqrt(sqrt(16)) + max(1, min(5, 3))", 5.0),
    ("  1 + 1", 2),
    ("\t2 * 3", 6),
    ("(1 +\n 2)", 3),
    ("1 + 1\n", 2),
    ("1 + 1  # a comment", 2),
]


@pytest.mark.parametrize(("expression", "expected"), GOOD_EXPRESSIONS)
def test_allowed_expression_evaluates_like_python(expression: str, expected: int | float) -> None:
    result = evaluate(expression)
    assert result == expected
    assert type(result) is type(expected)


def test_long_chain_of_additions_does_not_exhaust_the_stack() -> None:
    expression = "1" + "+1" * ((MAX_EXPRESSION_CHARS - 1) // 2)
    assert evaluate(expression) == (MAX_EXPRESSION_CHARS - 1) // 2 + 1


def _outcome(expression: str) -> int | float | str:
    """The value of an expression, or the message of the CalculationError it raised."""
    try:
        return evaluate(expression)
    except CalculationError as exc:
        return str(exc)


def test_long_run_of_unary_minus_is_evaluated_or_refused_cleanly() -> None:
    # Whether CPython's parser builds a tree this deep depends on its version and on how deep
    # the caller's stack already is; either way the answer is a value or a CalculationError.
    outcome = _outcome("-" * (MAX_EXPRESSION_CHARS - 1) + "1")
    assert outcome in (-1, "expression is nested too deeply to parse")


# --- what is refused, and the message that says why -----------------------------------------------

REFUSED_EXPRESSIONS: list[tuple[str, str]] = [
    ("__import__('os')", "strings are not allowed"),
    ("__import__(1)", "unknown function '__import__'; allowed: abs, acos"),
    ("().__class__", "attribute access"),
    ("(1).__class__", "attribute access"),
    ("math.sqrt(2)", "attribute access"),
    ("pi.real", "attribute access"),
    ("[x for x in ()]", "comprehensions are not allowed"),
    ("(x for x in ())", "comprehensions are not allowed"),
    ("{x for x in ()}", "comprehensions are not allowed"),
    ("{x: x for x in ()}", "comprehensions are not allowed"),
    ("lambda: 1", "lambda is not allowed"),
    ("(lambda: 1)()", "lambda is not allowed"),
    ("(1)[0]", "subscripts"),
    ("1 < 2", "comparisons are not allowed"),
    ("1 == 1", "comparisons are not allowed"),
    ("1 and 2", "'and' and 'or' are not allowed"),
    ("not 1", "operator 'not' is not allowed"),
    ("~1", "operator '~'"),
    ("2 ^ 3", "use ** for powers"),
    ("1 << 2", "operator '<<'"),
    ("1 >> 2", "operator '>>'"),
    ("1 | 2", "operator '|'"),
    ("1 & 2", "operator '&'"),
    ("1 @ 2", "operator '@'"),
    ("1 if 1 else 0", "conditional expressions"),
    ("(y := 1)", "assignment expressions (:=) are not allowed"),
    ("(1, 2)", "tuples are not allowed"),
    ("[1]", "lists are not allowed"),
    ("{1}", "sets are not allowed"),
    ("{1: 2}", "dicts are not allowed"),
    ("await x", "'await' is not allowed"),
    ("f'{1}'", "strings are not allowed"),
    ("'a'", "strings are not allowed"),
    ('b"a"', "strings are not allowed"),
    ("1 + \\\n 2", "character '\\\\'"),
    ("True", "True and False are not allowed"),
    ("False + 1", "True and False are not allowed"),
    ("None", "None is not allowed"),
    ("...", "Ellipsis is not allowed"),
    ("1j", "complex numbers are not allowed"),
    ("x", "unknown name 'x' at column 1; allowed names: e, pi, tau"),
    ("inf", "unknown name 'inf'"),
    ("foo(1)", "unknown function 'foo'; allowed: abs, acos"),
    ("eval(1)", "unknown function 'eval'"),
    ("sqrt", "'sqrt' is a function; call it like sqrt(x)"),
    ("pi(1)", "'pi' is a constant, not a function"),
    ("sqrt(x=4)", "sqrt: keyword arguments are not allowed"),
    ("max(*(1, 2))", "max: starred arguments (*) are not allowed"),
    ("sqrt(4)(2)", "only allowed functions may be called, by name"),
    ("sqrt(1, 2)", "sqrt takes 1 argument (2 given)"),
    ("sqrt()", "sqrt takes 1 argument (0 given)"),
    ("atan2(1)", "atan2 takes 2 arguments (1 given)"),
    ("log(1, 2, 3)", "log takes 1 or 2 arguments (3 given)"),
    ("min()", "min takes at least 1 argument (0 given)"),
    ("3 \u00d7 4", "use * to multiply"),
    ("6 \u00f7 2", "use / to divide"),
    ("2 * \u03c0", "write pi"),
    ("1\x00", "character '\\x00' (U+0000) at column 2 is not allowed"),
    ("1\x1b", "(U+001B)"),
    ("", "expression is empty"),
    ("   ", "expression is empty"),
]


@pytest.mark.parametrize(("expression", "message"), REFUSED_EXPRESSIONS)
def test_construct_off_the_allowlist_is_refused_by_name(expression: str, message: str) -> None:
    with pytest.raises(CalculationError) as caught:
        evaluate(expression)
    assert message in str(caught.value)


def test_attribute_access_is_refused() -> None:
    with pytest.raises(CalculationError, match=r"attribute access .* \(at column 1\)"):
        evaluate("(1).__class__.__subclasses__()")


def test_refusal_points_at_the_offending_column_and_line() -> None:
    with pytest.raises(CalculationError, match="unknown name 'x' at column 5"):
        evaluate("1 + x")
    with pytest.raises(CalculationError, match="unknown name 'x' at column 7"):
        evaluate("  1 + x")  # leading spaces still count
    with pytest.raises(CalculationError, match="unknown name 'x' at line 2, column 2"):
        evaluate("(1 +\n x)")


def test_long_unknown_name_is_shortened_in_the_message() -> None:
    name = "a" * 500
    with pytest.raises(CalculationError) as caught:
        evaluate(name)
    assert name not in str(caught.value)
    assert len(str(caught.value)) < 200


def test_non_string_input_is_refused() -> None:
    with pytest.raises(CalculationError, match="must be a string"):
        evaluate(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 + * 2", "syntax error at column 5: invalid syntax"),
        ("  1 + * 2", "syntax error at column 7: invalid syntax"),
        ("(1 + 2", "syntax error at column 1: '(' was never closed"),
        ("(1\n+)", "syntax error at line 2, column 2"),
        ("1 +", "syntax error: invalid syntax (the expression may be incomplete)"),
        ("2pi", "syntax error at column 1: invalid decimal literal"),
        ("0777", "leading zeros"),
        ("yield 1", "syntax error"),
    ],
)
def test_syntax_error_reports_where(expression: str, message: str) -> None:
    with pytest.raises(CalculationError) as caught:
        evaluate(expression)
    assert message in str(caught.value)


# --- arithmetic that has no answer ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1/0", "division by zero"),
        ("1//0", "division by zero"),
        ("1%0", "division by zero"),
        ("1.0 / 0.0", "division by zero"),
        ("5 % 0.0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("0.0 ** -0.5", "division by zero"),
        ("log(8, 1)", "log: division by zero"),
        ("sqrt(-1)", "sqrt: math domain error"),
        ("log(0)", "log: math domain error"),
        ("log(-1)", "log: math domain error"),
        ("acos(2)", "acos: math domain error"),
        ("(-8) ** (1/3)", "**: math domain error"),
        ("factorial(-1)", "factorial: "),
        ("factorial(2.5)", "factorial: 'float' object cannot be interpreted as an integer"),
        ("isqrt(-1)", "isqrt: "),
        ("comb(-1, 2)", "comb: "),
        ("gcd(1.5, 3)", "gcd: "),
        ("round(1.5, 1.5)", "round: "),
    ],
)
def test_arithmetic_error_names_its_cause(expression: str, message: str) -> None:
    with pytest.raises(CalculationError) as caught:
        evaluate(expression)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "expression",
    [
        "1e308*10",
        "1e308 + 1e308",
        "-1e308 - 1e308",
        "1e308 / 1e-308",
        "1e308 // 1e-308",
        "exp(1000)",
        "cosh(1000)",
        "2.0 ** 10000",
        "10 ** 400 / 3",
        "10 ** 400 + 0.5",
        "sqrt(10 ** 400)",
        "factorial(170) * 1e200",
    ],
)
def test_float_overflow_is_an_error_not_infinity(expression: str) -> None:
    with pytest.raises(CalculationError, match=r"too large \(beyond the floating-point range"):
        evaluate(expression)


def test_infinite_float_literal_is_refused() -> None:
    with pytest.raises(CalculationError, match="number at column 1 is too large"):
        evaluate("1e999")


# --- bounds: at the limit allowed, one past refused -----------------------------------------------


def test_expression_at_the_length_limit_is_allowed() -> None:
    assert evaluate("1" + " " * (MAX_EXPRESSION_CHARS - 1)) == 1


def test_expression_one_past_the_length_limit_is_refused() -> None:
    with pytest.raises(CalculationError, match="too long"):
        evaluate("1" + " " * MAX_EXPRESSION_CHARS)


def test_megabyte_expression_is_refused_before_parsing() -> None:
    with pytest.raises(CalculationError, match=r"too long \(1000000 characters"):
        evaluate("1+" * 500_000)


def test_brackets_at_the_depth_limit_are_allowed() -> None:
    depth = MAX_PARENTHESES_DEPTH
    assert evaluate("(" * depth + "1" + ")" * depth) == 1


def test_brackets_one_past_the_depth_limit_are_refused() -> None:
    depth = MAX_PARENTHESES_DEPTH + 1
    with pytest.raises(CalculationError, match="nested too deeply"):
        evaluate("(" * depth + "1" + ")" * depth)


def test_deeply_nested_parentheses_are_refused_without_parsing() -> None:
    with pytest.raises(CalculationError, match="too long"):
        evaluate("(" * 10_000 + "1" + ")" * 10_000)
    with pytest.raises(CalculationError, match="nested too deeply"):
        evaluate("(" * 400 + "1" + ")" * 400)


def test_integer_at_the_digit_limit_is_allowed() -> None:
    result = evaluate(f"10 ** {MAX_INTEGER_DIGITS - 1} * 9")
    assert result == 9 * 10 ** (MAX_INTEGER_DIGITS - 1)
    assert len(format_number(result)) == MAX_INTEGER_DIGITS


def test_negative_integer_at_the_digit_limit_is_allowed() -> None:
    power = MAX_INTEGER_DIGITS - 1
    all_nines = f"-(9 * 10 ** {power} + (10 ** {power} - 1))"
    assert evaluate(all_nines) == -(10**MAX_INTEGER_DIGITS - 1)


@pytest.mark.parametrize(
    "expression",
    [
        f"10 ** {MAX_INTEGER_DIGITS}",
        f"10 ** {MAX_INTEGER_DIGITS - 1} * 10",
        f"10 ** {MAX_INTEGER_DIGITS - 1} * 5 + 10 ** {MAX_INTEGER_DIGITS - 1} * 5",
        f"-10 ** {MAX_INTEGER_DIGITS}",
    ],
)
def test_integer_one_digit_past_the_limit_is_refused(expression: str) -> None:
    with pytest.raises(CalculationError, match=f"more than {MAX_INTEGER_DIGITS} digits"):
        evaluate(expression)


def test_power_at_the_edge_of_its_size_estimate_is_decided_exactly() -> None:
    # 2**14284 has 4300 digits and 2**14285 has 4301: the log10 estimate alone is too coarse.
    assert len(str(evaluate("2 ** 14284"))) == MAX_INTEGER_DIGITS
    with pytest.raises(CalculationError, match="too large"):
        evaluate("2 ** 14285")
    assert len(str(evaluate("9 ** 4506"))) == MAX_INTEGER_DIGITS
    with pytest.raises(CalculationError, match="too large"):
        evaluate("9 ** 4507")


@pytest.mark.parametrize(
    "expression",
    [
        "9**9**9",
        "2**10**10",
        "10**10000",
        "(-3) ** 10 ** 100",
        "2 ** (10 ** 4299)",
        "(10 ** 4299) ** 2",
    ],
)
def test_huge_power_is_refused_without_computing_it(expression: str) -> None:
    with pytest.raises(CalculationError, match=r"result of \*\* is too large"):
        evaluate(expression)


def test_factorial_at_its_limit_is_allowed() -> None:
    assert evaluate(f"factorial({MAX_FACTORIAL_ARGUMENT})") == math.factorial(
        MAX_FACTORIAL_ARGUMENT
    )


@pytest.mark.parametrize(
    "expression",
    [
        f"factorial({MAX_FACTORIAL_ARGUMENT + 1})",
        "factorial(100000)",
        "factorial(10 ** 4000)",
        f"comb({MAX_FACTORIAL_ARGUMENT + 1}, 2)",
        "comb(10 ** 100, 10 ** 50)",
        f"perm({MAX_FACTORIAL_ARGUMENT + 1})",
        f"perm({MAX_FACTORIAL_ARGUMENT + 1}, 1)",
    ],
)
def test_factorial_past_its_limit_is_refused_without_computing_it(expression: str) -> None:
    with pytest.raises(CalculationError, match=f"larger than {MAX_FACTORIAL_ARGUMENT}"):
        evaluate(expression)


def test_comb_and_perm_at_the_factorial_limit_are_allowed() -> None:
    n = MAX_FACTORIAL_ARGUMENT
    assert evaluate(f"comb({n}, {n // 2})") == math.comb(n, n // 2)
    assert evaluate(f"perm({n})") == math.factorial(n)


def test_round_with_huge_ndigits_answers_at_once() -> None:
    assert evaluate("round(15, -10 ** 6)") == 0
    assert evaluate("round(-(10 ** 4299), -10 ** 100)") == 0
    assert evaluate("round(1.5, 10 ** 100)") == 1.5
    assert evaluate("round(10 ** 4299 - 1, 10 ** 100)") == 10**4299 - 1


def test_huge_integer_to_float_is_refused() -> None:
    with pytest.raises(CalculationError, match="too large"):
        evaluate("1.0 * 10 ** 400")


# --- format_number --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7, "7"),
        (-7, "-7"),
        (0, "0"),
        (2.0, "2.0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-0.0, "0.0"),
        (0.0, "0.0"),
        (-1.5, "-1.5"),
        (1e300, "1e+300"),
        (1e-7, "1e-07"),
    ],
)
def test_format_number_writes_ints_whole_and_floats_by_repr(value: int | float, text: str) -> None:
    assert format_number(value) == text


def test_format_number_writes_the_largest_integer_in_full() -> None:
    value = 10**MAX_INTEGER_DIGITS - 1
    assert format_number(value) == "9" * MAX_INTEGER_DIGITS


def test_format_number_survives_a_lowered_int_str_digit_limit() -> None:
    previous_limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)  # the smallest limit CPython accepts
    try:
        assert format_number(-(10 ** (MAX_INTEGER_DIGITS - 1))) == "-1" + "0" * (
            MAX_INTEGER_DIGITS - 1
        )
    finally:
        sys.set_int_max_str_digits(previous_limit)


# --- properties -----------------------------------------------------------------------------------

_EXPRESSION_ALPHABET = "0123456789.+-*/%() ,e_abcfgilmnopqrstx[]{}'\"\\:<=>^&|~@#\n\t\x00"


@settings(deadline=None, max_examples=300)
@given(
    st.one_of(
        st.text(max_size=200),
        st.text(alphabet=_EXPRESSION_ALPHABET, max_size=80),
        st.lists(
            st.sampled_from(
                [
                    *("1", "9", "0", "2.5", "1e308", "**", "*", "/", "//", "%", "+", "-", "(", ")"),
                    *("sqrt(", "log(", "factorial(", "round(", "comb(", "pi", ",", "10**4299"),
                ]
            ),
            max_size=30,
        ).map("".join),
    )
)
def test_evaluate_raises_nothing_but_calculation_error(expression: str) -> None:
    outcome = _outcome(expression)  # anything but a CalculationError propagates and fails
    if isinstance(outcome, str):
        assert "Traceback" not in outcome
    else:
        assert type(outcome) in (int, float)
        assert isinstance(format_number(outcome), str)


_INTEGER_OPERATORS: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}


def _combine(children: st.SearchStrategy[tuple[str, int]]) -> st.SearchStrategy[tuple[str, int]]:
    return st.tuples(children, st.sampled_from(sorted(_INTEGER_OPERATORS)), children).map(
        lambda parts: (
            f"({parts[0][0]} {parts[1]} {parts[2][0]})",
            _INTEGER_OPERATORS[parts[1]](parts[0][1], parts[2][1]),
        )
    )


_INTEGER_EXPRESSIONS = st.recursive(
    st.integers(min_value=-1000, max_value=1000).map(lambda number: (f"({number})", number)),
    _combine,
    max_leaves=20,
)


@settings(deadline=None, max_examples=300)
@given(_INTEGER_EXPRESSIONS)
def test_small_integer_arithmetic_agrees_with_python(expression_and_value: tuple[str, int]) -> None:
    expression, value = expression_and_value
    assert evaluate(expression) == value
