"""What the benchmarks share: a prepared database, servers in subprocesses, a load generator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from app import migrations
from app._types import utcnow
from app.partners.demo import DemoSeed, seed_demo
from app.runtime import Services, open_services
from app.settings import Settings, load_settings
from vendors.registry import VENDORS

ROOT = Path(__file__).resolve().parents[1]

# Every field of the CONTRACT's `Reward` and `RewardOption`.
PAGE_FIELDS = """totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id kind name brand description imageUrl countries currency minPoints available
      options { id faceValue { amount currency } minValue { amount currency }
                maxValue { amount currency } points minPoints }
    } }"""

PAGE_QUERY = f"""query Catalog($first: Int, $after: String) {{
  rewards(first: $first, after: $after) {{
    {PAGE_FIELDS}
  }}
}}"""


@dataclass
class Prepared:
    directory: Path
    env: dict[str, str]
    demo: DemoSeed


def bench_env(directory: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REWARDGATE_")}
    env.update(
        {
            "REWARDGATE_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/bench.db",
            "REWARDGATE_CATALOG_SCHEDULE": "false",
            "REWARDGATE_EXPIRY_SWEEP_SECONDS": "0",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def settings_for(env: dict[str, str]) -> Settings:
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return load_settings(env_file=None)
    finally:
        os.environ.clear()
        os.environ.update(saved)


Filler = Callable[[Services], Awaitable[None]]


async def refresh_every_vendor(services: Services) -> None:
    results = await services.catalog.refresh()
    assert all(r.ok for r in results), results


async def prepare(directory: Path, fill: Filler = refresh_every_vendor, **extra: str) -> Prepared:
    """A migrated database with the demo partner and a catalog (by default every sandbox's),
    priced in the demo program."""
    env = bench_env(directory, **extra)
    settings = settings_for(env)
    async with open_services(settings, sandbox_rate_limits=False) as services:
        await migrations.upgrade(services.database)
        demo = await seed_demo(
            services.database,
            secret=settings.member_token_secret.get_secret_value(),
            now=utcnow(),
            token_lifetime=timedelta(hours=12),
        )
        await services.catalog.price_class_id(demo.program_id)
        await fill(services)
    return Prepared(directory, env, demo)


@contextmanager
def workdir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="rewardgate-bench-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Served:
    url: str
    pid: int
    output: list[int]  # bytes the server has written to its output so far

    @property
    def logged_bytes(self) -> int:
        return self.output[0]

    def peak_rss_mb(self) -> float:
        """The server process's peak resident memory so far (Linux ``VmHWM``)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        kilobytes = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)[1])  # type: ignore[index]
        return kilobytes / 1024

    def cpu_seconds(self) -> float:
        """CPU the server process has used so far, user and system (Linux ``/proc``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


GATEWAY = "gateway"


@contextmanager
def server(factory: str, env: dict[str, str]) -> Iterator[Served]:
    """A server in a subprocess: ``gateway`` is ``rewardgate serve`` as a user starts it
    (its defaults: JSON logs at INFO on standard output, an access line per request); any
    other name is ``bench._apps:<factory>`` under uvicorn, logging the same way. Standard
    output and error go to a pipe that a thread drains, as a container's log driver would."""
    port = free_port()
    if factory == GATEWAY:
        command = [sys.executable, "-c", "from app.cli import main; main()", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "uvicorn", f"bench._apps:{factory}", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    drained = _drain(process)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code in (200, 404):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{factory} did not start")
        yield Served(url, process.pid, drained)
    finally:
        process.terminate()
        process.wait(timeout=15)


def _drain(process: subprocess.Popen[bytes]) -> list[int]:
    """Read the process's output as it comes (a pipe nobody reads would block it); the bytes
    read so far, in a one-item list."""
    read = [0]
    kept = os.environ.get("BENCH_SERVER_LOG")  # a file that keeps the output, for a post-mortem

    def pump() -> None:
        stream = process.stdout
        assert stream is not None
        with open(kept, "ab") if kept else contextlib.nullcontext() as copy:
            for chunk in iter(lambda: os.read(stream.fileno(), 65_536), b""):
                read[0] += len(chunk)
                if copy is not None:
                    copy.write(chunk)

    threading.Thread(target=pump, daemon=True).start()
    return read


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    tool: str


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/graphql", content=body, headers=headers, timeout=30)


def load(url: str, body: bytes, headers: dict[str, str], *, seconds: int, connections: int) -> Load:
    """Load ``POST /graphql`` with wrk (or, without wrk, an asyncio client: it costs more CPU
    per request itself, which compresses ratios toward 1)."""
    if shutil.which("wrk"):
        return _wrk(url, body, headers, seconds, connections)
    return asyncio.run(_python_load(url, body, headers, seconds, connections))


def _wrk(url: str, body: bytes, headers: dict[str, str], seconds: int, connections: int) -> Load:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    try:
        subprocess.run(
            ["wrk", "-t1", f"-c{connections}", "-d2s", "-s", str(script), f"{url}/graphql"],
            check=True,
            capture_output=True,
        )
        run = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                f"{url}/graphql",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        script.unlink()
    text = run.stdout
    if "Non-2xx" in text:
        raise RuntimeError(f"errors under load:\n{text}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    return Load(rps, _latency(text, "50%"), _latency(text, "99%"), "wrk")


def _latency(text: str, label: str) -> float:
    match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", text)
    assert match, text
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


async def _python_load(
    url: str, body: bytes, headers: dict[str, str], seconds: int, connections: int
) -> Load:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker() -> None:
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await client.post("/graphql", content=body, headers=headers)
                response.raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker() for _ in range(connections)))
    quantiles = statistics.quantiles(latencies, n=100)
    return Load(len(latencies) / seconds, quantiles[49], quantiles[98], "python")


def vendors() -> list[str]:
    return [spec.name for spec in VENDORS]


def median_load(runs: list[Load]) -> Load:
    """The run with the median throughput (its latencies come with it)."""
    ordered = sorted(runs, key=lambda run: run.requests_per_second)
    return ordered[len(ordered) // 2]


def describe(name: str, result: Load) -> str:
    return (
        f"{name:<28} {result.requests_per_second:>9.0f} req/s   p50 {result.p50_ms:>7.2f} ms   "
        f"p99 {result.p99_ms:>7.2f} ms   ({result.tool})"
    )


Body = dict[str, Any]
