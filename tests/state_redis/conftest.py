"""Fixtures of tests/state_redis: one real ``redis-server`` per module on a free loopback
port (tests that stop Redis start their own), and a fresh key prefix per test, so tests
sharing a server never see each other's keys."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_server import RedisServer, redis_server


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def prefix() -> str:
    return "t" + secrets.token_hex(4)


# The replicas helper sits beside the tests that use it.
sys.path.insert(0, str(Path(__file__).parent))
