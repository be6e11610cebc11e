"""``HandlerPlan.arguments``: the hand check for plain parameters agrees with pydantic."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
import pytest
from pydantic import Field

from ssemcp import Context
from ssemcp.server.schema import HandlerPlan, plan_handler


def plan(function: Any) -> HandlerPlan:
    return plan_handler(function, model_name=function.__name__, context_type=Context)


async def plain(
    text: str, count: int, ratio: float, flag: bool = False, note: str | None = None
) -> str:
    return text


async def constrained(text: Annotated[str, Field(min_length=2)]) -> str:
    return text


async def described(text: Annotated[str, Field(description="what to say")]) -> str:
    return text


async def with_list(items: list[str]) -> str:
    return ""


async def mutable_default(tags: str = "a", extra: tuple[str, ...] = ()) -> str:
    return ""


def pydantic_arguments(handler_plan: HandlerPlan, values: object) -> dict[str, Any]:
    validated = handler_plan.arguments_model.model_validate(values)
    return {parameter: getattr(validated, field) for field, parameter in handler_plan.fields}


def test_only_plain_unconstrained_parameters_get_the_hand_check() -> None:
    assert plan(plain).exact_types is None  # `str | None` is not plain
    assert plan(described).exact_types == {"text": str}
    assert plan(constrained).exact_types is None
    assert plan(with_list).exact_types is None
    assert plan(mutable_default).exact_types is None


async def simple(text: str, count: int, ratio: float, flag: bool = False, label: str = "x") -> str:
    return text


SIMPLE_CASES = [
    {"text": "a", "count": 1, "ratio": 0.5},
    {"text": "a", "count": 1, "ratio": 0.5, "flag": True, "label": "y"},
    {"text": "a", "count": 1, "ratio": 2},  # an int for a float: pydantic converts it
    {"text": "a", "count": 1.0, "ratio": 0.5},  # a whole float for an int: pydantic's call
    {"text": "a", "count": "1", "ratio": 0.5},  # lax pydantic parses the string
    {"text": "a", "count": 1, "ratio": 0.5, "flag": 1},  # 1 for a bool
    {"text": "a", "count": True, "ratio": 0.5},  # a bool for an int: not by hand
]
BAD_CASES = [
    {"text": "a", "ratio": 0.5},  # missing
    {"text": "a", "count": 1, "ratio": 0.5, "unknown": 1},  # extra="forbid"
    {"text": 1, "count": 1, "ratio": 0.5},
    {"text": None, "count": 1, "ratio": 0.5},
    ["a", 1, 0.5],
]


@pytest.mark.parametrize("values", SIMPLE_CASES)
def test_the_hand_check_returns_what_pydantic_returns(values: dict[str, Any]) -> None:
    handler_plan = plan(simple)
    assert handler_plan.exact_types is not None
    expected = pydantic_arguments(handler_plan, values)
    got = handler_plan.arguments(values)
    assert got == expected
    assert {name: type(value) for name, value in got.items()} == {
        name: type(value) for name, value in expected.items()
    }


@pytest.mark.parametrize("values", BAD_CASES)
def test_what_the_hand_check_cannot_accept_gets_pydantics_error(values: Any) -> None:
    handler_plan = plan(simple)
    with pytest.raises(pydantic.ValidationError):
        handler_plan.arguments(values)


def test_defaults_fill_in_without_changing_the_values() -> None:
    handler_plan = plan(simple)
    values = {"text": "a", "count": 1, "ratio": 0.5}
    got = handler_plan.arguments(values)
    assert got == {"text": "a", "count": 1, "ratio": 0.5, "flag": False, "label": "x"}
    got["text"] = "changed"
    assert values["text"] == "a"
    assert handler_plan.defaults == {"flag": False, "label": "x"}


def test_constraints_are_still_enforced() -> None:
    with pytest.raises(pydantic.ValidationError):
        plan(constrained).arguments({"text": "a"})
    assert plan(constrained).arguments({"text": "ab"}) == {"text": "ab"}
