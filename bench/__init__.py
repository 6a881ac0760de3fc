"""Benchmarks: each script prints ratios measured in one run (the machine is shared and noisy).
Run from the repository root, e.g. ``python -m bench.catalog_http``."""
