"""Catalog pages cost the same with 50,000 rewards in the snapshot as with 500.

For each size, a fresh database gets a synthetic catalog (gift cards in USD, EUR and GBP with
four face values each) stored through the refresher, as a vendor's refresh stores it; then the
gateway serves pages with the response cache off, so every request reaches the database. Each
case is requested sequentially over one keep-alive connection; the p50 per size is compared.
Targets: p50 ratio (largest / smallest) <= 1.5 for every indexed case (searches through the
trigram index included, where the matches are as many at both sizes), and the gateway's peak
RSS <= 300 MB.

    python -m bench.scale [--sizes 500 50000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from app.runtime import Services
from bench._harness import PAGE_FIELDS, Served, bench_env, prepare, server, workdir
from graphql_schema.catalog.queries import reward_cursor
from vendors import Denomination, Product, RewardKind

QUERY = f"""query Page($first: Int, $after: String, $sort: RewardSort, $filter: RewardFilter) {{
  rewards(first: $first, after: $after, sort: $sort, filter: $filter) {{
    {PAGE_FIELDS}
  }}
}}"""

CURRENCIES = {"USD": ("US",), "EUR": ("DE", "FR", "NL"), "GBP": ("GB",)}
FACE_VALUES = (Decimal(10), Decimal(25), Decimal(50), Decimal(100))
WORDS = ("Coffee", "Books", "Outdoor", "Cinema", "Grocery", "Travel", "Music", "Games")


@dataclass(frozen=True)
class Case:
    label: str
    variables: dict[str, Any]
    indexed: bool = True


def synthetic_catalog(size: int) -> list[Product]:
    """``size`` distinct gift cards (one reward each), deterministic."""
    currencies = list(CURRENCIES)
    products = []
    for number in range(size):
        currency = currencies[number % len(currencies)]
        word = WORDS[number % len(WORDS)]
        products.append(
            Product(
                vendor="tango",
                vendor_product_id=f"SCALE{number:06d}",
                kind=RewardKind.GIFT_CARD,
                brand=f"{word} Brand {number:06d}",
                name=f"{word} Brand {number:06d} Gift Card",
                currency=currency,
                countries=CURRENCIES[currency],
                description=f"A {word.lower()} gift card, number {number}.",
                image_url=f"https://img.sandbox.invalid/scale/{number}.png",
                denominations=tuple(Denomination(value) for value in FACE_VALUES),
            )
        )
    return products


def fill(directory: Path, size: int) -> dict[str, Any]:
    """Prepare ``directory`` in a child process; what the store cost there."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--fill", str(directory), str(size)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def fill_here(directory: Path, size: int) -> None:
    async def store(services: Services) -> None:
        started = time.perf_counter()
        await services.catalog.refresher.store("tango", synthetic_catalog(size))
        seconds["store"] = time.perf_counter() - started

    seconds: dict[str, float] = {}
    prepared = asyncio.run(prepare(directory, fill=store))
    token = str(prepared.demo.members[0]["token"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"store_seconds": seconds["store"], "peak_rss_mb": peak_mb, "token": token}))


def middle_cursor(directory: Path, size: int) -> str:
    """The cursor of the reward halfway through the name order (the listing's NAME_ASC key)."""
    with sqlite3.connect(directory / "bench.db") as db:
        name_key, raw_id = db.execute(
            "SELECT name_key, id FROM reward WHERE available ORDER BY name_key, id "
            "LIMIT 1 OFFSET ?",
            (size // 2,),
        ).fetchone()
    return reward_cursor([name_key, str(uuid.UUID(raw_id))])


def cases(directory: Path, size: int) -> list[Case]:
    return [
        Case("first page, relevance", {"first": 20}),
        Case("deep page, name order", {"first": 20, "after": middle_cursor(directory, size)}),
        Case("first page, points ascending", {"first": 20, "sort": "POINTS_ASC"}),
        Case("first page, points descending", {"first": 20, "sort": "POINTS_DESC"}),
        Case("country GB", {"first": 20, "filter": {"country": "GB"}}),
        # The same 13 matches at every size (numbers 100 to 199): the index's own cost.
        Case(
            "search 'coffee brand 0001'", {"first": 20, "filter": {"search": "coffee brand 0001"}}
        ),
        Case(
            "search 'brand 000042' (1 match)", {"first": 20, "filter": {"search": "brand 000042"}}
        ),
        # Matches grow with the catalog (63 at 500, 1,250 at 50,000), all ranked for relevance.
        Case(
            "search 'coffee brand 00' (grows)",
            {"first": 20, "filter": {"search": "coffee brand 00"}},
            False,
        ),
    ]


def measure(served: Served, token: str, case: Case, requests: int) -> float:
    """p50 milliseconds of ``requests`` sequential requests."""
    body = {"query": QUERY, "variables": case.variables}
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    with httpx.Client(base_url=served.url, headers=headers, timeout=30) as client:
        for attempt in range(requests + 10):
            started = time.perf_counter()
            answer = client.post("/graphql", json=body)
            elapsed = time.perf_counter() - started
            answer.raise_for_status()
            assert "errors" not in answer.json(), answer.text
            if attempt >= 10:
                timings.append(elapsed * 1000)
    return statistics.median(timings)


def run(sizes: list[int], requests: int) -> None:
    results: dict[int, dict[str, float]] = {}
    rss: dict[int, float] = {}
    stores: dict[int, dict[str, Any]] = {}
    indexed: dict[str, bool] = {}
    for size in sizes:
        with workdir() as directory:
            stores[size] = fill(directory, size)
            env = bench_env(directory, REWARDGATE_RESPONSE_CACHE_URL="off")
            with server("gateway", env) as served:
                results[size] = {}
                for case in cases(directory, size):
                    indexed[case.label] = case.indexed
                    results[size][case.label] = measure(
                        served, stores[size]["token"], case, requests
                    )
                rss[size] = served.peak_rss_mb()

    small, large = sizes[0], sizes[-1]
    print(f"p50 ms per page of 20, {requests} sequential requests each, response cache off")
    print(f"{'case':<32}" + "".join(f"{size:>10,}" for size in sizes) + "     ratio")
    worst = 0.0
    for label, in_target in indexed.items():
        ratio = results[large][label] / results[small][label]
        if in_target:
            worst = max(worst, ratio)
        print(
            f"{label:<32}"
            + "".join(f"{results[size][label]:>10.2f}" for size in sizes)
            + f"{ratio:>10.2f}"
            + ("" if in_target else "   (more matches to rank: not in the target)")
        )
    for size in sizes:
        print(
            f"{size:>7,} rewards: stored in {stores[size]['store_seconds']:.1f} s "
            f"(storing process peak RSS {stores[size]['peak_rss_mb']:.0f} MB); "
            f"gateway peak RSS {rss[size]:.0f} MB"
        )
    print(f"worst indexed page ratio {large:,} / {small:,} = {worst:.2f}   (target <= 1.50)")
    print(f"gateway peak RSS at {large:,} rewards = {rss[large]:.0f} MB   (target <= 300)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 50_000])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--fill", nargs=2, metavar=("DIRECTORY", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        fill_here(Path(args.fill[0]), int(args.fill[1]))
    else:
        run(sorted(args.sizes), args.requests)


if __name__ == "__main__":
    main()
