"""The catalog's hot and cold paths over HTTP, each against its baseline, in one run.

Hot path: the same 20-reward page (every `Reward` and `RewardOption` field of the contract)
through the gateway and through a plain Starlette endpoint that returns the very same bytes;
target: the gateway serves at least 50 % of plain's requests per second.

Cold path: the response cache off, the gateway against the same types and resolvers on a stock
strawberry schema (no extensions: no parser or validation cache); target: at least 3x.

    python -m bench.catalog_http [--seconds 5] [--rounds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
from contextlib import ExitStack

from bench._harness import (
    PAGE_QUERY,
    Load,
    describe,
    load,
    median_load,
    post,
    prepare,
    server,
    workdir,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="per load run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with workdir() as directory, ExitStack() as stack:
        prepared = asyncio.run(prepare(directory))
        token = str(prepared.demo.members[0]["token"])
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        body = json.dumps({"query": PAGE_QUERY, "variables": {"first": 20}}).encode()

        hot = stack.enter_context(server("gateway", prepared.env))
        answer = post(hot.url, body, headers)
        answer.raise_for_status()
        assert len(answer.json()["data"]["rewards"]["edges"]) == 20, answer.text
        page = directory / "page.json"
        page.write_bytes(answer.content)
        plain = stack.enter_context(server("plain", {**prepared.env, "BENCH_BODY_FILE": str(page)}))
        uncached = {**prepared.env, "REWARDGATE_RESPONSE_CACHE_URL": "off"}
        cold = stack.enter_context(server("gateway", uncached))
        stock = stack.enter_context(server("stock", uncached))
        assert post(plain.url, body, headers).content == answer.content
        assert post(cold.url, body, headers).content == answer.content
        assert post(stock.url, body, headers).json() == answer.json()

        # The four servers are up at once and loaded in turn, round after round, so a noisy
        # neighbour slows both sides of a ratio alike; the medians are reported.
        runs: dict[str, list[Load]] = {"plain": [], "hot": [], "cold": [], "stock": []}
        targets = {"plain": plain, "hot": hot, "cold": cold, "stock": stock}
        for _ in range(args.rounds):
            for name, served in targets.items():
                runs[name].append(
                    load(
                        served.url,
                        body,
                        headers,
                        seconds=args.seconds,
                        connections=args.connections,
                    )
                )

        logged = hot.logged_bytes

    print(
        f"20-reward page, {len(answer.content)} bytes, {args.connections} connections, "
        f"{args.rounds} rounds of {args.seconds} s each, {os.cpu_count()} CPUs; the gateway "
        f"as `rewardgate serve` starts it (JSON access log at INFO on stdout, drained from a "
        f"pipe: {logged / 1e6:.1f} MB logged by the cached one)"
    )
    labels = {
        "plain": "plain Starlette (same bytes)",
        "hot": "gateway, response cache",
        "cold": "gateway, no response cache",
        "stock": "stock strawberry",
    }
    for name, label in labels.items():
        print(describe(label, median_load(runs[name])))
    hot_ratios = _ratios(runs["hot"], runs["plain"])
    cold_ratios = _ratios(runs["cold"], runs["stock"])
    print(
        f"hot path:  gateway / plain = {statistics.median(hot_ratios):.2f}   (target >= 0.50; "
        f"rounds {_listed(hot_ratios)})"
    )
    print(
        f"cold path: gateway / stock = {statistics.median(cold_ratios):.2f}   (target >= 3.00; "
        f"rounds {_listed(cold_ratios)})"
    )


def _ratios(ours: list[Load], theirs: list[Load]) -> list[float]:
    return [
        a.requests_per_second / b.requests_per_second for a, b in zip(ours, theirs, strict=True)
    ]


def _listed(ratios: list[float]) -> str:
    return ", ".join(f"{ratio:.2f}" for ratio in ratios)


if __name__ == "__main__":
    main()
