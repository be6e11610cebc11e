"""The sealed requestState of multi round-trip requests: what opens, and everything that
must not. No sockets, no clock (time is an argument)."""

from __future__ import annotations

import pytest

from ssemcp.errors import InvalidParams
from ssemcp.protocol.request_context import Principal
from ssemcp.protocol.request_state import RequestStateKeys, binding_of

KEY_A = b"a" * 32
KEY_B = b"b" * 32
BINDING = binding_of("tools/call", "greet", {"who": "x"}, Principal("principal-1"))
NOW = 1_000_000.0


def test_a_sealed_state_opens_to_its_answers() -> None:
    keys = RequestStateKeys([KEY_A])
    state = keys.seal(BINDING, {"k": {"action": "accept"}}, NOW)
    assert keys.open(state, BINDING, NOW + 1) == {"k": {"action": "accept"}}


def test_a_state_sealed_with_an_older_key_still_opens_after_rotation() -> None:
    state = RequestStateKeys([KEY_A]).seal(BINDING, {}, NOW)
    assert RequestStateKeys([KEY_B, KEY_A]).open(state, BINDING, NOW) == {}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda state: state + "x",
        lambda state: "A" + state[1:],
        lambda state: state.split(".")[0] + ".",
        lambda state: state.replace(".", ""),
        lambda state: "not a state",
        lambda state: 42,
    ],
    ids=["appended", "payload changed", "no mac", "no dot", "junk", "a number"],
)
def test_a_tampered_state_is_refused(tamper: object) -> None:
    keys = RequestStateKeys([KEY_A])
    state = keys.seal(BINDING, {"k": 1}, NOW)
    with pytest.raises(InvalidParams, match="requestState"):
        keys.open(tamper(state), BINDING, NOW)  # type: ignore[operator]


def test_a_state_of_another_server_key_is_refused() -> None:
    state = RequestStateKeys([KEY_B]).seal(BINDING, {}, NOW)
    with pytest.raises(InvalidParams, match="integrity"):
        RequestStateKeys([KEY_A]).open(state, BINDING, NOW)


@pytest.mark.parametrize(
    "other",
    [
        binding_of("tools/call", "greet", {"who": "y"}, Principal("principal-1")),
        binding_of("tools/call", "other", {"who": "x"}, Principal("principal-1")),
        binding_of("prompts/get", "greet", {"who": "x"}, Principal("principal-1")),
        binding_of("tools/call", "greet", {"who": "x"}, Principal("principal-2")),
        binding_of("tools/call", "greet", {"who": "x"}, None),
    ],
    ids=["arguments", "tool", "method", "principal", "no principal"],
)
def test_a_state_is_refused_for_any_other_request(other: str) -> None:
    keys = RequestStateKeys([KEY_A])
    state = keys.seal(BINDING, {}, NOW)
    with pytest.raises(InvalidParams, match="another request"):
        keys.open(state, other, NOW)


def test_an_expired_state_is_refused() -> None:
    keys = RequestStateKeys([KEY_A], ttl_seconds=60)
    state = keys.seal(BINDING, {}, NOW)
    keys.open(state, BINDING, NOW + 59)
    with pytest.raises(InvalidParams, match="expired"):
        keys.open(state, BINDING, NOW + 60)


def test_arguments_bind_whatever_their_key_order() -> None:
    assert binding_of("tools/call", "t", {"a": 1, "b": 2}, None) == binding_of(
        "tools/call", "t", {"b": 2, "a": 1}, None
    )


@pytest.mark.parametrize("keys", [[], [b"short"]])
def test_keys_must_exist_and_be_long_enough(keys: list[bytes]) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        RequestStateKeys(keys)
