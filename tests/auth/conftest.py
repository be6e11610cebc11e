"""Fixtures of tests/auth: one real authorization server (oidc-provider) per module, and an
ssemcp app that trusts it, served by uvicorn on a free 127.0.0.1 port per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from authorization_server import AuthorizationServer, running_authorization_server


@pytest.fixture(scope="module")
def authorization_server() -> Iterator[AuthorizationServer]:
    with running_authorization_server() as server:
        yield server
