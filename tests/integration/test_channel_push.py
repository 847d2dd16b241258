"""Stock levels pushed to channels: only what changed since the last accepted push, batched, within the
channel's rate (429 and Retry-After honoured), compare-and-set on Shopify, the batch endpoint on
WooCommerce, outside failures retried. The channels are local mock servers (tests/channel_mocks.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend import db
from backend.domain import job_runs
from tests.channel_mocks import MockShopify, MockWoo, serving
from tests.channel_sync_support import (
    adjust,
    connect_shopify,
    connect_woo,
    push,
    shop_levels,
    woo_levels,
)
from tests.factories import item, receive, warehouse


@pytest.fixture
def shop() -> Iterator[tuple[MockShopify, str]]:
    mock = MockShopify()
    with serving(mock) as url:
        yield mock, url


@pytest.fixture
def woo() -> Iterator[tuple[MockWoo, str]]:
    mock = MockWoo()
    with serving(mock) as url:
        yield mock, url


async def _stock(levels: dict[str, int], bins: list[str]) -> None:
    for sku, qty in levels.items():
        await item(sku)
        if qty:
            await receive(sku, qty, bins[0])


async def test_the_first_push_sets_every_level_and_the_next_sends_only_what_changed(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await _stock({"MUG": 7, "CUP": 3, "TEA": 0}, bins)
    for sku in ("MUG", "CUP", "TEA"):
        mock.add_item(sku, qty=1)
    await connect_shopify(mock, url)
    first = await push()
    assert shop_levels(mock) == {"MUG": 7, "CUP": 3, "TEA": 0}
    assert (first["changed"], first["accepted"], mock.stats.updates, mock.stats.update_requests) == (3, 3, 3, 1)
    again = await push()  # nothing changed: nothing is sent
    assert (again["changed"], again["sent"], mock.stats.updates) == (0, 0, 3)
    await adjust("CUP", -2, bins[0])
    third = await push()
    assert (third["changed"], third["sent"], mock.stats.updates) == (1, 1, 4)
    assert shop_levels(mock) == {"MUG": 7, "CUP": 1, "TEA": 0}
    [last, *_] = await job_runs.recent_runs(kind="push_channel_stock")
    assert last.status == "done" and ("changed", 1) in last.result_items
    first_run = (await job_runs.recent_runs(kind="push_channel_stock"))[-1]
    assert (first_run.progress_done, first_run.progress_total) == (3, 3)
    assert first_run.progress_note == "quantities sent (3 listings read)"


async def test_a_sale_on_the_channel_is_never_overwritten_blindly(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await _stock({"MUG": 10}, bins)
    mock.add_item("MUG", qty=10)
    await connect_shopify(mock, url)
    await push()
    await adjust("MUG", -4, bins[0])  # Stockline: 6 now
    mock.item_of("MUG").qty = 9  # meanwhile the shop sold one: it holds 9, not the 10 Stockline sent
    stale = await push()
    assert (stale["stale"], stale["accepted"], mock.qty("MUG")) == (1, 0, 9)  # refused, not overwritten
    again = await push()  # compared against the 9 it read back
    assert (again["accepted"], mock.qty("MUG")) == (1, 6)


async def test_a_stale_quantity_does_not_hold_back_the_rest_of_its_batch(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await _stock({"A": 5, "B": 5, "C": 5}, bins)
    for sku in ("A", "B", "C"):
        mock.add_item(sku, qty=0)
    await connect_shopify(mock, url)
    await push()
    for sku in ("A", "B", "C"):
        await adjust(sku, -1, bins[0])
    mock.item_of("B").qty = 2
    report = await push()
    assert (report["accepted"], report["stale"]) == (2, 1)
    assert shop_levels(mock) == {"A": 4, "B": 2, "C": 4}


async def test_a_rate_limited_channel_is_pushed_within_its_limit_honouring_retry_after(ledger_db):
    mock = MockShopify(per_s=4, burst=2)
    bins = await warehouse()
    skus = {f"SKU-{n:03d}": n for n in range(1, 601)}
    await _stock(skus, bins)
    for sku in skus:
        mock.add_item(sku, qty=0)
    with serving(mock) as url:
        await connect_shopify(mock, url, requests_per_s=50)  # Stockline asks faster than the shop allows
        report = await push()
    assert shop_levels(mock) == skus
    assert mock.stats.throttled > 0 and report["throttled"] == mock.stats.throttled
    assert (report["accepted"], mock.stats.updates) == (600, 600)  # 429s cost time, never a second update


async def test_shopify_graphql_throttling_is_waited_out(ledger_db):
    mock = MockShopify(per_s=3, burst=1, throttle="graphql")
    bins = await warehouse()
    await _stock({f"S{n}": n for n in range(1, 301)}, bins)
    for n in range(1, 301):
        mock.add_item(f"S{n}", qty=0)
    with serving(mock) as url:
        await connect_shopify(mock, url, requests_per_s=100)
        report = await push()
    assert report["throttled"] > 0 and mock.stats.updates == 300 and mock.qty("S300") == 300


async def test_server_errors_are_retried_and_the_run_still_converges(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await _stock({"MUG": 4}, bins)
    mock.add_item("MUG", qty=0)
    await connect_shopify(mock, url)
    mock.fail_next(500, 502, 503)
    report = await push()
    assert (report["retried"], mock.qty("MUG")) == (3, 4)


async def test_a_channel_down_for_the_whole_try_is_retried_by_the_job_with_backoff(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await _stock({"MUG": 4}, bins)
    mock.add_item("MUG", qty=0)
    await connect_shopify(mock, url)
    mock.fail_next(*[503] * 6)  # every request of the first try
    await push()  # the second try starts 5 s after the first gave up
    tries = sorted(await job_runs.recent_runs(kind="push_channel_stock"), key=lambda r: r.job_try)
    assert [(r.job_try, r.status) for r in tries] == [(1, "retrying"), (2, "done")]
    assert "503" in tries[0].error and mock.qty("MUG") == 4


async def test_only_the_channels_warehouses_count_and_buffer_and_share_apply(ledger_db, shop, woo):
    shop_mock, shop_url = shop
    woo_mock, woo_url = woo
    east, west = await warehouse("EAST"), await warehouse("WEST")
    await item("MUG")
    await receive("MUG", 10, east[0])
    await receive("MUG", 30, west[0])
    shop_mock.add_item("MUG", qty=0)
    woo_mock.add_product("MUG", qty=0)
    await connect_shopify(shop_mock, shop_url, warehouses=["EAST"], buffer_units=2)
    await connect_woo(woo_url, buffer_pct=10, share_pct=50)
    await push()
    assert shop_mock.qty("MUG") == 8  # EAST only, 2 kept back
    assert woo_mock.qty("MUG") == 20  # 40 − 4 (10 %) = 36, at most half of 40


async def test_woocommerce_products_and_variations_go_through_the_batch_endpoints(ledger_db, woo):
    mock, url = woo
    bins = await warehouse()
    await _stock({f"W{n}": n for n in range(1, 151)} | {"TEE-S": 4, "TEE-M": 5}, bins)
    for n in range(1, 151):
        mock.add_product(f"W{n}", qty=0)
    tee = mock.add_variable("TEE")
    mock.add_product("TEE-S", qty=0, parent=tee)
    mock.add_product("TEE-M", qty=0, parent=tee)
    await connect_woo(url)
    report = await push()
    levels = woo_levels(mock)
    assert levels["W150"] == 150 and levels["TEE-S"] == 4 and levels["TEE-M"] == 5
    assert (report["accepted"], mock.stats.updates, mock.stats.update_requests) == (152, 152, 3)  # 100 + 50, + 1


async def test_unmapped_and_unstocked_listings_are_not_pushed(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await _stock({"MUG": 5}, bins)
    mock.add_item("MUG", qty=0)
    mock.add_item("NOT-IN-STOCKLINE", qty=3)
    mock.add_item("MUG-ELSEWHERE", qty=None)  # not stocked at the connected location
    await connect_shopify(mock, url)
    await push()
    assert shop_levels(mock) == {"MUG": 5, "NOT-IN-STOCKLINE": 3, "MUG-ELSEWHERE": None}
    problems = await db.fetch("SELECT channel_sku, problem FROM channel_listings WHERE problem <> ''")
    assert [r["channel_sku"] for r in problems] == ["MUG-ELSEWHERE"]


async def test_two_runs_at_once_push_a_channel_once(ledger_db, shop):
    import asyncio

    mock, url = shop
    bins = await warehouse()
    await _stock({f"K{n}": 1 for n in range(300)}, bins)
    for n in range(300):
        mock.add_item(f"K{n}", qty=0)
    await connect_shopify(mock, url)
    first, second = await asyncio.gather(push(), push())
    assert sorted([first["accepted"], second["accepted"]]) == [0, 300]
    assert mock.stats.updates == 300


async def test_without_redis_the_web_process_pushes_on_its_timer(ledger_db, shop):
    import asyncio

    from jobs.channels import push_channel_stock
    from jobs.inprocess import InProcessJobs
    from jobs.schedule import Every

    mock, url = shop
    bins = await warehouse()
    await _stock({"MUG": 6}, bins)
    mock.add_item("MUG", qty=0)
    await connect_shopify(mock, url)
    jobs = InProcessJobs(ledger_db, tick_s=3600, schedule=[Every(push_channel_stock, 0.2)])
    jobs.start()
    try:
        for _ in range(100):
            if mock.qty("MUG") == 6:
                break
            await asyncio.sleep(0.1)
        await adjust("MUG", -1, bins[0])
        for _ in range(100):
            if mock.qty("MUG") == 5:
                break
            await asyncio.sleep(0.1)
    finally:
        await jobs.stop()
    assert mock.qty("MUG") == 5
    runs = await job_runs.recent_runs(kind="push_channel_stock")
    assert runs and all(r.trigger == "schedule" for r in runs)


async def test_a_channel_that_refuses_the_credentials_fails_the_run_and_the_others_are_pushed(ledger_db, shop, woo):
    shop_mock, shop_url = shop
    woo_mock, woo_url = woo
    bins = await warehouse()
    await _stock({"MUG": 3}, bins)
    shop_mock.add_item("MUG", qty=0)
    woo_mock.add_product("MUG", qty=0)
    await connect_shopify(shop_mock, shop_url)
    await connect_woo(woo_url)
    shop_mock.token = "rotated-on-the-shop"  # the access token Stockline holds no longer works
    with pytest.raises(Exception, match="401"):
        await push()
    [run] = await job_runs.recent_runs(kind="push_channel_stock")
    assert run.status == "failed" and "shop: refused" in run.error and "401" in run.error
    assert (woo_mock.qty("MUG"), shop_mock.qty("MUG")) == (3, 0)
