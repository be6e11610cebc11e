"""``ssemcp.bridge.ids``: fresh child ids for client ids, and the way back. No I/O."""

from __future__ import annotations

from ssemcp.bridge.ids import BRIDGE_OWNER, IdMap


def test_two_clients_with_the_same_id_get_different_child_ids() -> None:
    ids = IdMap()
    first = ids.add(1, 7)
    second = ids.add(2, 7)
    assert first != second
    assert ids.get(first) == (1, 7)
    assert ids.get(second) == (2, 7)


def test_an_int_id_and_its_string_spelling_are_two_requests() -> None:
    ids = IdMap()
    number = ids.add(1, 7)
    text = ids.add(1, "7")
    assert number != text
    assert ids.pop(number) == (1, 7)
    assert ids.pop(text) == (1, "7")


def test_child_ids_are_never_reused() -> None:
    ids = IdMap()
    first = ids.add(1, 1)
    ids.pop(first)
    assert ids.add(1, 1) != first


def test_an_id_reused_while_in_flight_keeps_its_child_id() -> None:
    ids = IdMap()
    assert ids.add(1, "a") == ids.add(1, "a")
    assert len(ids) == 1


def test_pop_forgets_both_ways() -> None:
    ids = IdMap()
    child_id = ids.add(3, "x")
    assert ids.find(3, "x") == child_id
    assert ids.pop(child_id) == (3, "x")
    assert ids.get(child_id) is None
    assert ids.find(3, "x") is None
    assert ids.pop(child_id) is None
    assert len(ids) == 0


def test_get_of_what_is_not_ours_is_none() -> None:
    ids = IdMap()
    ids.add(1, 1)
    assert ids.get("1") is None
    assert ids.get(999) is None
    assert ids.get(None) is None


def test_drop_owner_forgets_only_that_owners_ids() -> None:
    ids = IdMap()
    mine = [ids.add(1, index) for index in range(3)]
    theirs = ids.add(2, 0)
    own = ids.add(BRIDGE_OWNER, "bridge-1")
    assert sorted(ids.drop_owner(1)) == sorted(mine)
    assert all(ids.get(child_id) is None for child_id in mine)
    assert ids.get(theirs) == (2, 0)
    assert ids.get(own) == (BRIDGE_OWNER, "bridge-1")
    assert ids.drop_owner(1) == []
