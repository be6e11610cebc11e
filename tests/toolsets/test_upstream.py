"""``ssemcp.toolsets._upstream``: cache, budget, retries, concurrency bound, merged identical
requests, the circuit breaker, a call's deadline, errors.

The cache and the budget run on an injected clock (no sleeps). The client runs against the
fixture upstream over real HTTP on 127.0.0.1, and every claim is checked by counting the
fixture's hits; where a request must still be in flight, the fixture holds it until told.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from hackernews_upstream import HackerNewsFixture
from toolset_harness import FakeClock

from ssemcp.toolsets._breaker import BreakerState, CircuitBreaker
from ssemcp.toolsets._deadline import call_deadline
from ssemcp.toolsets._upstream import (
    BudgetExhausted,
    RequestBudget,
    RetryPolicy,
    TTLCache,
    UpstreamClient,
    UpstreamError,
    UpstreamNotFound,
    UpstreamUnavailable,
    env_float,
    env_int,
    env_str,
)

ITEM = "/v0/item/8863.json"


ClientFactory = Callable[..., UpstreamClient]


@pytest.fixture
async def make_client(upstream: HackerNewsFixture) -> AsyncIterator[ClientFactory]:
    """Build clients against the fixture's Firebase API; all are closed after the test."""
    clients: list[UpstreamClient] = []

    def make(**options: object) -> UpstreamClient:
        options.setdefault("retry", RetryPolicy(max_attempts=3, backoff_seconds=0.001))
        client = UpstreamClient("The test API", upstream.api_url, **options)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


# ---------------------------------------------------------------------- TTLCache


def test_cache_returns_a_value_until_its_ttl_passes() -> None:
    clock = FakeClock()
    cache = TTLCache(10, clock)
    cache.put("a", {"x": 1}, ttl_seconds=30)
    clock.advance(29.9)
    assert cache.get("a") == (True, {"x": 1})
    clock.advance(0.1)
    assert cache.get("a") == (False, None)
    assert len(cache) == 0


def test_cache_keeps_a_cached_null_apart_from_a_miss() -> None:
    cache = TTLCache(10, FakeClock())
    cache.put("null", None, ttl_seconds=5)
    assert cache.get("null") == (True, None)
    assert cache.get("absent") == (False, None)


def test_cache_with_zero_ttl_keeps_nothing_and_drops_the_old_value() -> None:
    cache = TTLCache(10, FakeClock())
    cache.put("a", 1, ttl_seconds=60)
    cache.put("a", 2, ttl_seconds=0)
    assert cache.get("a") == (False, None)


def test_cache_evicts_the_least_recently_used_entry_at_its_bound() -> None:
    cache = TTLCache(2, FakeClock())
    cache.put("a", 1, ttl_seconds=60)
    cache.put("b", 2, ttl_seconds=60)
    assert cache.get("a") == (True, 1)  # "a" is now the most recently used
    cache.put("c", 3, ttl_seconds=60)
    assert len(cache) == 2
    assert cache.get("b") == (False, None)
    assert cache.get("a") == (True, 1)
    assert cache.get("c") == (True, 3)


def test_cache_refuses_a_size_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TTLCache(0)


# ---------------------------------------------------------------------- RequestBudget


def test_budget_refuses_the_request_past_its_limit_with_the_wait() -> None:
    clock = FakeClock()
    budget = RequestBudget(3, 3600, clock)
    for _ in range(3):
        budget.spend("Algolia")
    assert budget.remaining == 0
    clock.advance(600)
    with pytest.raises(BudgetExhausted) as caught:
        budget.spend("Algolia")
    message = str(caught.value)
    assert "Algolia" in message
    assert "3 requests per 3600 s" in message
    assert "try again in 3000 s" in message


def test_budget_frees_requests_as_the_window_slides() -> None:
    clock = FakeClock()
    budget = RequestBudget(2, 100, clock)
    budget.spend("x")
    clock.advance(50)
    budget.spend("x")
    clock.advance(50)  # the first request leaves the window
    assert budget.remaining == 1
    budget.spend("x")
    with pytest.raises(BudgetExhausted):
        budget.spend("x")


def test_budget_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RequestBudget(0, 3600)


# ---------------------------------------------------------------------- RetryPolicy


def test_retry_delays_double_and_are_capped() -> None:
    policy = RetryPolicy(max_attempts=6, backoff_seconds=0.5, max_backoff_seconds=3)
    assert [policy.delay_seconds(attempt) for attempt in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_retry_policy_needs_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


# ---------------------------------------------------------------------- env helpers


def test_env_helpers_read_values_and_fall_back_to_defaults() -> None:
    env = {"A": " 2.5 ", "B": "7", "C": " https://x ", "EMPTY": ""}
    assert env_float(env, "A", 1.0) == 2.5
    assert env_int(env, "B", 1) == 7
    assert env_str(env, "C", "d") == "https://x"
    assert env_float(env, "EMPTY", 1.5) == 1.5
    assert env_int(env, "MISSING", 3) == 3
    assert env_str(env, "EMPTY", "d") == "d"


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (env_float, "fast", "is not a number"),
        (env_float, "-1", "must be at least 0"),
        (env_float, "nan", "must be at least 0"),
        (env_int, "1.5", "is not an integer"),
        (env_int, "-3", "must be at least 0"),
    ],
)
def test_env_helpers_reject_bad_values_naming_the_variable(
    reader: Callable[..., object], raw: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        reader({"SSEMCP_X": raw}, "SSEMCP_X", 1)
    assert "SSEMCP_X" in str(caught.value)


# ---------------------------------------------------------------------- the client


async def test_client_decodes_json_and_reuses_its_connection(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    client = make_client()
    first = await client.get_json("item/8863.json")
    second = await client.get_json("item/8884.json")
    assert isinstance(first, dict)
    assert first["title"] == "My YC app: Dropbox - Throw away your USB drive"
    assert isinstance(second, dict)
    assert second["by"] == "jsomers"
    assert client._client is not None  # one shared httpx client, created on first use


async def test_client_serves_from_cache_within_the_ttl_and_refetches_after(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(cache=TTLCache(100, clock))
    for _ in range(3):
        await client.get_json("item/8863.json", ttl_seconds=300)
    assert upstream.hits_for(ITEM) == 1
    clock.advance(300)
    await client.get_json("item/8863.json", ttl_seconds=300)
    assert upstream.hits_for(ITEM) == 2


async def test_client_fresh_read_skips_the_cache_but_refreshes_it(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    client = make_client(cache=TTLCache(100, FakeClock()))
    await client.get_json("item/8863.json", ttl_seconds=300)
    changed = upstream.get(ITEM) | {"score": 999}
    upstream.set(ITEM, changed)
    assert await client.get_json("item/8863.json", ttl_seconds=300, fresh=True) == changed
    assert await client.get_json("item/8863.json", ttl_seconds=300) == changed
    assert upstream.hits_for(ITEM) == 2


async def test_client_cache_keys_include_the_query_parameters(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    client = make_client(cache=TTLCache(100, FakeClock()))
    await client.get_json("item/8863.json", {"b": "2", "a": "1"}, ttl_seconds=60)
    await client.get_json("item/8863.json", {"a": "1", "b": "2"}, ttl_seconds=60)
    await client.get_json("item/8863.json", {"a": "other"}, ttl_seconds=60)
    assert upstream.hits_for(ITEM) == 2


async def test_client_retries_a_500_and_succeeds_with_two_hits(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "500", times=1)
    value = await make_client().get_json("item/8863.json")
    assert isinstance(value, dict)
    assert value["id"] == 8863
    assert upstream.hits_for(ITEM) == 2


async def test_client_gives_up_after_the_bounded_attempts(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "500")
    client = make_client(retry=RetryPolicy(max_attempts=4, backoff_seconds=0.001))
    with pytest.raises(UpstreamError) as caught:
        await client.get_json("item/8863.json")
    assert upstream.hits_for(ITEM) == 4
    message = str(caught.value)
    assert message == "The test API answered HTTP 500 (after 4 attempts); try again later."


async def test_client_waits_with_exponential_backoff_between_attempts(
    upstream: HackerNewsFixture, upstream_sleeps: list[float], make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "500")

    async def sleep(seconds: float) -> None:
        upstream_sleeps.append(seconds)

    client = make_client(retry=RetryPolicy(max_attempts=4, backoff_seconds=0.25), sleep=sleep)
    with pytest.raises(UpstreamError):
        await client.get_json("item/8863.json")
    assert upstream_sleeps == [0.25, 0.5, 1.0]


@pytest.fixture
def upstream_sleeps() -> list[float]:
    return []


async def test_client_does_not_retry_a_404(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "404")
    with pytest.raises(UpstreamNotFound, match=r"has nothing at item/8863\.json"):
        await make_client().get_json("item/8863.json")
    assert upstream.hits_for(ITEM) == 1


async def test_client_does_not_retry_other_4xx(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    with pytest.raises(UpstreamError, match=r"refused the request for nowhere.json \(HTTP 401\)"):
        await make_client().get_json("nowhere.json")
    assert upstream.hits_for("/v0/nowhere.json") == 1


async def test_client_reports_malformed_json_without_retrying(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "malformed")
    with pytest.raises(UpstreamError, match=r"malformed JSON for item/8863\.json"):
        await make_client().get_json("item/8863.json")
    assert upstream.hits_for(ITEM) == 1


async def test_client_returns_a_json_null_as_none(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "null", times=1)
    assert await make_client().get_json("item/8863.json") is None


async def test_client_retries_a_timeout_then_succeeds(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "slow", times=1, delay_seconds=2)
    value = await make_client(timeout_seconds=0.2).get_json("item/8863.json")
    assert isinstance(value, dict)
    assert upstream.hits_for(ITEM) == 2


async def test_client_reports_a_timeout_after_the_bounded_attempts(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "slow", delay_seconds=2)
    client = make_client(
        timeout_seconds=0.1, retry=RetryPolicy(max_attempts=2, backoff_seconds=0.001)
    )
    with pytest.raises(UpstreamError, match=r"timed out after 0.1 s \(after 2 attempts\)"):
        await client.get_json("item/8863.json")
    assert upstream.hits_for(ITEM) == 2


async def test_client_reports_an_unreachable_upstream(make_client: ClientFactory) -> None:
    # Port 9 (discard) on 127.0.0.1 refuses connections: nothing listens there in a sandbox.
    client = UpstreamClient(
        "The gone API",
        "http://127.0.0.1:9",
        retry=RetryPolicy(max_attempts=2, backoff_seconds=0.001),
    )
    try:
        with pytest.raises(UpstreamError, match=r"could not be reached .*after 2 attempts"):
            await client.get_json("x.json")
    finally:
        await client.aclose()


async def test_client_never_has_more_requests_in_flight_than_its_bound(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.delay("/v0/item/", 0.05)
    client = make_client(max_concurrency=3)
    paths = [f"item/{item_id}.json" for item_id in range(1, 16)]
    await asyncio.gather(*(client.get_json(path) for path in paths))
    assert upstream.total_hits() == 15
    assert upstream.max_in_flight == 3


async def test_client_counts_every_attempt_against_its_budget_and_then_refuses(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    upstream.fail(ITEM, "500", times=1)
    client = make_client(budget=RequestBudget(3, 3600, clock))
    await client.get_json("item/8863.json")  # two attempts
    await client.get_json("item/8884.json")  # the third request
    with pytest.raises(BudgetExhausted, match="request budget for The test API"):
        await client.get_json("item/8952.json")
    assert upstream.total_hits() == 3
    clock.advance(3600)
    await client.get_json("item/8952.json")
    assert upstream.total_hits() == 4


async def test_client_serves_cached_answers_when_the_budget_is_spent(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(budget=RequestBudget(1, 3600, clock), cache=TTLCache(10, clock))
    first = await client.get_json("item/8863.json", ttl_seconds=60)
    assert await client.get_json("item/8863.json", ttl_seconds=60) == first
    assert upstream.total_hits() == 1


async def test_closed_client_refuses_requests(make_client: ClientFactory) -> None:
    client = make_client()
    await client.get_json("item/8863.json")
    await client.aclose()
    assert client._client is None
    with pytest.raises(UpstreamError, match="closed"):
        await client.get_json("item/8863.json")


async def test_client_closed_before_use_opens_nothing() -> None:
    client = UpstreamClient("The test API", "http://127.0.0.1:9")
    await client.aclose()
    assert client._client is None


async def until(predicate: Callable[[], bool]) -> None:
    """Poll ``predicate`` until it holds, failing after a deadline (the fixture's counters
    change on its own threads, with nothing to await)."""
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_client_sends_one_request_for_identical_concurrent_gets(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    client = make_client()
    values = await asyncio.gather(*(client.get_json("item/8863.json") for _ in range(5)))
    assert upstream.hits_for(ITEM) == 1
    assert all(value == values[0] for value in values)
    assert isinstance(values[0], dict)
    assert values[0]["id"] == 8863


async def test_client_merges_only_gets_with_the_same_path_and_parameters(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    client = make_client()
    await asyncio.gather(
        client.get_json("item/8863.json", {"a": "1", "b": "2"}),
        client.get_json("item/8863.json", {"b": "2", "a": "1"}),
        client.get_json("item/8863.json", {"a": "other"}),
        client.get_json("item/8884.json"),
    )
    assert upstream.hits_for(ITEM) == 2
    assert upstream.hits_for("/v0/item/8884.json") == 1


async def test_client_forgets_a_merged_request_once_it_succeeds(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    client = make_client()  # no cache: only the merging could spare the second request
    await asyncio.gather(client.get_json("item/8863.json"), client.get_json("item/8863.json"))
    await client.get_json("item/8863.json")
    assert upstream.hits_for(ITEM) == 2


async def test_client_gives_every_merged_caller_the_error_and_then_forgets_it(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "404", times=1)
    client = make_client()
    outcomes = await asyncio.gather(
        *(client.get_json("item/8863.json") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(outcome, UpstreamNotFound) for outcome in outcomes)
    assert upstream.hits_for(ITEM) == 1
    value = await client.get_json("item/8863.json")  # a new request, not the old error
    assert isinstance(value, dict)
    assert upstream.hits_for(ITEM) == 2


async def test_client_cancelling_one_caller_leaves_the_merged_request_to_the_others(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    client = make_client()
    upstream.hold(ITEM)
    leaving = asyncio.create_task(client.get_json("item/8863.json"))
    staying = asyncio.create_task(client.get_json("item/8863.json"))
    await until(lambda: upstream.hits_for(ITEM) == 1)
    assert client._in_flight.waiters("item/8863.json") == 2
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    upstream.release(ITEM)
    value = await staying
    assert isinstance(value, dict)
    assert value["id"] == 8863
    assert upstream.hits_for(ITEM) == 1


# ---------------------------------------------------------------------- a call's deadline


async def test_client_retries_only_while_the_calls_deadline_leaves_time(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    upstream.fail(ITEM, "500")
    client = make_client(retry=RetryPolicy(max_attempts=10, backoff_seconds=0.25), sleep=sleep)
    with call_deadline(2, clock), pytest.raises(UpstreamError) as caught:
        await client.get_json("item/8863.json")
    # Attempts at 0, 0.25 and 0.75 s; the next would start at 1.75 s with 0.25 s left, less
    # than an attempt needs.
    assert upstream.hits_for(ITEM) == 3
    assert str(caught.value) == (
        "The test API answered HTTP 500 (after 3 attempts; this call's 2 s time limit leaves "
        "no time for another); try again later."
    )


async def test_client_cuts_an_attempts_timeout_to_the_time_the_call_has_left(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    upstream.fail(ITEM, "slow", delay_seconds=10)
    client = make_client(timeout_seconds=10)
    started = time.monotonic()
    with call_deadline(0.3), pytest.raises(UpstreamError) as caught:
        await client.get_json("item/8863.json")
    assert time.monotonic() - started < 5  # not the 10 s timeout, let alone 3 attempts
    assert upstream.hits_for(ITEM) == 1
    message = str(caught.value)
    assert message.startswith("The test API timed out after 0.")
    assert message.endswith(
        "(after 1 attempt; this call's 0.3 s time limit leaves no time for another); "
        "try again later."
    )


async def test_client_sends_nothing_once_the_calls_time_is_up(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client()
    with call_deadline(1, clock):
        clock.advance(1)
        with pytest.raises(UpstreamError) as caught:
            await client.get_json("item/8863.json")
    assert str(caught.value) == (
        "The test API was not asked: this call's 1 s time limit is up; try again later."
    )
    assert upstream.total_hits() == 0


# ---------------------------------------------------------------------- the breaker


def one_attempt() -> RetryPolicy:
    return RetryPolicy(max_attempts=1)


async def test_client_fails_fast_once_its_breaker_opens_and_says_when_it_retries(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(retry=one_attempt(), breaker=CircuitBreaker(2, 30, clock))
    upstream.fail(ITEM, "500")
    for _ in range(2):
        with pytest.raises(UpstreamError, match="answered HTTP 500"):
            await client.get_json("item/8863.json")
    clock.advance(10)
    with pytest.raises(UpstreamUnavailable) as refused:
        await client.get_json("item/8863.json")
    assert str(refused.value) == (
        "The test API is unavailable: its last 2 requests failed (the last answered HTTP 500). "
        "It will be tried again in 20 s; until then calls that need it fail at once."
    )
    assert upstream.hits_for(ITEM) == 2  # nothing was sent
    with pytest.raises(UpstreamUnavailable):
        await client.get_json("item/8884.json")  # the whole upstream, not one path
    assert upstream.hits_for("/v0/item/8884.json") == 0


async def test_client_probes_after_the_cool_down_and_closes_its_breaker_on_an_answer(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30, clock)
    client = make_client(retry=one_attempt(), breaker=breaker)
    upstream.fail(ITEM, "500", times=1)
    with pytest.raises(UpstreamError):
        await client.get_json("item/8863.json")
    clock.advance(30)
    value = await client.get_json("item/8863.json")  # the probe
    assert isinstance(value, dict)
    assert breaker.state is BreakerState.CLOSED
    assert upstream.hits_for(ITEM) == 2


async def test_client_stops_retrying_when_its_breaker_opens(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    client = make_client(
        retry=RetryPolicy(max_attempts=5, backoff_seconds=0.001),
        breaker=CircuitBreaker(2, 30, FakeClock()),
    )
    upstream.fail(ITEM, "slow", delay_seconds=2)
    client.timeout_seconds = 0.1
    with pytest.raises(UpstreamUnavailable, match=r"the last timed out after 0\.1 s"):
        await client.get_json("item/8863.json")
    # Counted by the client, not by the upstream: on a loaded machine an attempt may time out
    # before its request has even reached the fixture.
    assert client.stats.requests == {"failed": 2, "breaker_open": 1}
    assert upstream.hits_for(ITEM) <= 2


async def test_client_breaker_counts_any_answer_as_the_upstream_being_up(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    breaker = CircuitBreaker(1, 30, FakeClock())
    client = make_client(retry=one_attempt(), breaker=breaker)
    for fault in ("404", "malformed"):
        upstream.fail(ITEM, fault, times=1)
        with pytest.raises(UpstreamError):
            await client.get_json("item/8863.json")
    with pytest.raises(UpstreamError, match="HTTP 401"):
        await client.get_json("nowhere.json")
    assert breaker.state is BreakerState.CLOSED


async def test_client_with_an_open_breaker_spends_no_budget(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    budget = RequestBudget(10, 3600, clock)
    client = make_client(retry=one_attempt(), breaker=CircuitBreaker(1, 30, clock), budget=budget)
    upstream.fail(ITEM, "500", times=1)
    with pytest.raises(UpstreamError):
        await client.get_json("item/8863.json")
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable, match="its last request answered HTTP 500"):
            await client.get_json("item/8863.json")
    assert budget.remaining == 9


async def test_client_probe_refused_by_the_budget_lets_the_next_request_probe(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30, clock)
    client = make_client(retry=one_attempt(), breaker=breaker, budget=RequestBudget(1, 3600, clock))
    upstream.fail(ITEM, "500", times=1)
    with pytest.raises(UpstreamError):
        await client.get_json("item/8863.json")
    clock.advance(30)
    for _ in range(2):  # each is let out as the probe, and stopped by the budget
        with pytest.raises(BudgetExhausted):
            await client.get_json("item/8863.json")
        assert breaker.state is BreakerState.OPEN
    assert upstream.hits_for(ITEM) == 1


async def test_client_cancelled_probe_lets_the_next_request_probe(
    upstream: HackerNewsFixture, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30, clock)
    client = make_client(retry=one_attempt(), breaker=breaker)
    upstream.fail(ITEM, "500", times=1)
    with pytest.raises(UpstreamError):
        await client.get_json("item/8863.json")
    clock.advance(30)
    upstream.hold(ITEM)
    probe = asyncio.create_task(client.get_json("item/8863.json"))
    await until(lambda: upstream.hits_for(ITEM) == 2)
    assert breaker.state is BreakerState.HALF_OPEN
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    # The request is cancelled with its last caller, and gives the probe back as it ends.
    await until(lambda: breaker.state is BreakerState.OPEN)
    upstream.release(ITEM)
    value = await client.get_json("item/8863.json")  # probes again, not refused
    assert isinstance(value, dict)
    assert breaker.state is BreakerState.CLOSED


def test_client_refuses_a_concurrency_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        UpstreamClient("x", "http://127.0.0.1:9", max_concurrency=0)
