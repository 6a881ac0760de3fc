"""The catalog's hot and cold paths over HTTP, each against its baseline, in one run.

Hot path: the same 20-reward page (every `Reward` and `RewardOption` field of the contract)
through the gateway and through a plain Starlette endpoint that returns the very same bytes;
target: the gateway serves at least 50 % of plain's requests per second.

Cold path: the response cache off, the gateway against the same types and resolvers on a stock
strawberry schema (no extensions: no parser or validation cache); target: at least 3x.

    python -m bench.catalog_http [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from bench._harness import PAGE_QUERY, describe, load, post, prepare, server, workdir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with workdir() as directory:
        prepared = asyncio.run(prepare(directory))
        token = str(prepared.demo.members[0]["token"])
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        body = json.dumps({"query": PAGE_QUERY, "variables": {"first": 20}}).encode()
        run = {"seconds": args.seconds, "connections": args.connections}

        with server("gateway", prepared.env) as served:
            answer = post(served.url, body, headers)
            answer.raise_for_status()
            assert len(answer.json()["data"]["rewards"]["edges"]) == 20, answer.text
            hot = load(served.url, body, headers, **run)
        page = directory / "page.json"
        page.write_bytes(answer.content)
        with server("plain", {**prepared.env, "BENCH_BODY_FILE": str(page)}) as served:
            assert post(served.url, body, headers).content == answer.content
            plain = load(served.url, body, headers, **run)

        uncached = {**prepared.env, "REWARDGATE_RESPONSE_CACHE_URL": "off"}
        with server("gateway", uncached) as served:
            assert post(served.url, body, headers).content == answer.content
            cold = load(served.url, body, headers, **run)
        with server("stock", uncached) as served:
            assert post(served.url, body, headers).json() == answer.json()
            stock = load(served.url, body, headers, **run)

    print(
        f"20-reward page, {len(answer.content)} bytes, {args.connections} connections, "
        f"{args.seconds} s each, {os.cpu_count()} CPUs"
    )
    print(describe("plain Starlette (same bytes)", plain))
    print(describe("gateway, response cache", hot))
    print(describe("gateway, no response cache", cold))
    print(describe("stock strawberry", stock))
    hot_ratio = hot.requests_per_second / plain.requests_per_second
    cold_ratio = cold.requests_per_second / stock.requests_per_second
    print(f"hot path:  gateway / plain = {hot_ratio:.2f}   (target >= 0.50)")
    print(f"cold path: gateway / stock = {cold_ratio:.2f}   (target >= 3.00)")


if __name__ == "__main__":
    main()
