"""The access log's records, captured for a test (its logger at INFO meanwhile)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from observe_support import AccessRecords, access_records


@pytest.fixture
def records() -> Iterator[AccessRecords]:
    with access_records() as captured:
        yield captured
