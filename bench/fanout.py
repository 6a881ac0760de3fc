"""A cold catalog refresh fans out to every vendor at once: it should take about as long as the
slowest vendor alone, not the sum of all of them.

Each in-process sandbox gets an injected latency (50, 100, 200, 400 and 800 ms, the slowest on
the vendor given by ``--slowest``) on every call, its documented rate limit still enforced.
Each vendor is first refreshed alone into an empty database, then all of them together into
another empty database. Target: together <= 1.1x the slowest vendor alone.

    python -m bench.fanout [--slowest tango]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from app import migrations
from app.catalog.refresh import VendorRefresh
from app.runtime import open_services
from bench._harness import bench_env, settings_for, workdir
from vendors.registry import VENDORS

LATENCIES_MS = (50, 100, 200, 400, 800)


async def cold_refresh(
    latencies: dict[str, int], names: list[str]
) -> tuple[float, list[VendorRefresh]]:
    """Seconds to refresh ``names`` into a freshly migrated database, and each vendor's result."""
    with workdir() as directory:
        settings = settings_for(bench_env(directory))
        async with open_services(settings) as services:
            await migrations.upgrade(services.database)
            hub = services.vendors.sandboxes
            assert hub is not None, "the bench drives the in-process sandboxes"
            for name, latency in latencies.items():
                hub[name].faults.latency_ms = latency
            started = time.perf_counter()
            results = await services.catalog.refresh(names)
            elapsed = time.perf_counter() - started
    failed = [r for r in results if not r.ok]
    assert not failed, failed
    return elapsed, results


def assign(slowest: str) -> dict[str, int]:
    """Latencies in ascending order, the largest on ``slowest``."""
    others = [spec.name for spec in VENDORS if spec.name != slowest]
    return dict(zip([*others, slowest], LATENCIES_MS, strict=True))


async def run(slowest: str) -> None:
    latencies = assign(slowest)
    alone: dict[str, tuple[float, VendorRefresh]] = {}
    for name in latencies:
        seconds, (result,) = await cold_refresh(latencies, [name])
        alone[name] = (seconds, result)
    together, results = await cold_refresh(latencies, list(latencies))
    by_vendor = {r.vendor: r for r in results}

    print(f"{'vendor':<12}{'latency':>9}{'calls':>7}{'alone':>10}{'in the fan-out':>16}")
    for name, latency in latencies.items():
        seconds, result = alone[name]
        print(
            f"{name:<12}{latency:>7} ms{result.calls:>7}{seconds:>9.2f}s"
            f"{by_vendor[name].seconds:>15.2f}s"
        )
    slowest_alone = max(seconds for seconds, _ in alone.values())
    print(f"all vendors together: {together:.2f} s; slowest vendor alone: {slowest_alone:.2f} s")
    print(f"fan-out / slowest = {together / slowest_alone:.2f}   (target <= 1.10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slowest", default="tango", choices=[spec.name for spec in VENDORS])
    asyncio.run(run(parser.parse_args().slowest))


if __name__ == "__main__":
    main()
