"""The public surface is exactly what ``__all__`` says, and each name is importable."""

from __future__ import annotations

import ssemcp


def test_all_is_sorted_and_complete() -> None:
    public = {name for name in dir(ssemcp) if not name.startswith("_")}
    # Submodules become attributes of the package once imported; they are not exports.
    modules = {name for name in public if type(getattr(ssemcp, name)).__name__ == "module"}
    assert set(ssemcp.__all__) - {"__version__"} == public - modules
    assert list(ssemcp.__all__) == sorted(ssemcp.__all__, key=str.casefold) or list(
        ssemcp.__all__
    ) == sorted(ssemcp.__all__)


def test_exported_classes_show_the_public_module() -> None:
    for name in ssemcp.__all__:
        value = getattr(ssemcp, name)
        if isinstance(value, type):
            assert value.__module__ == "ssemcp", name


def test_what_a_handler_gets_back_from_the_client_is_exported() -> None:
    # ctx.sample() and ctx.elicit() return these; a handler's author imports them to annotate.
    for name in ("ElicitResult", "SamplingResult"):
        assert name in ssemcp.__all__
        assert getattr(ssemcp, name).__module__ == "ssemcp"
