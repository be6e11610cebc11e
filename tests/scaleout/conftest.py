"""One cluster (Redis, three replicas, nginx) per test module that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scaleout_harness import Cluster, cluster


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("scaleout")) as running:
        yield running
