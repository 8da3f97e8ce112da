"""The benchmark suite's own parts: where the pipeline warehouse lives, what the sampler
reads, and the BI query files."""

from __future__ import annotations

import re
import time
from pathlib import Path

from ttw.settings import Settings
from ttw_dev.bench.incremental import target_ratio
from ttw_dev.bench.pipeline import _cpu_seconds, _memory_in_use, bench_settings, scale_options
from ttw_dev.bench.query import _percentile, describe, queries


def test_the_pipeline_warehouse_is_embedded_on_its_own_port_under_the_bench_folder(tmp_path):
    settings = Settings(home=tmp_path, warehouse_port=56000, warehouse_url="postgresql://u:p@db.example/prod")
    bench = bench_settings(settings, 10, 42)
    assert bench.warehouse_url is None  # never the configured server: the benchmark drops its data
    assert bench.warehouse_port == 56001
    assert bench.home_dir == tmp_path.resolve() / "bench" / "pipeline-scale10-seed42" / "home"
    # a center program sized apart gets a warehouse of its own, named by both scales
    apart = bench_settings(settings, 100, 42, centers_scale=10)
    assert apart.home_dir == tmp_path.resolve() / "bench" / "pipeline-scale100-centers10-seed42" / "home"
    assert bench_settings(settings, 10, 42, centers_scale=10).home_dir == bench.home_dir
    assert scale_options(100, 42, 10) == "--scale 100 --centers-scale 10 --seed 42"
    assert scale_options(10, 42, 10) == scale_options(10, 42) == "--scale 10 --seed 42"


def test_the_sampler_reads_memory_and_cpu_of_this_machine():
    in_use = _memory_in_use()
    total = Path("/proc/meminfo").read_text().split()[1]
    assert 0 < in_use < int(total) * 1024
    busy, _ = _cpu_seconds()
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:  # keep one core busy for a moment
        pass
    assert _cpu_seconds()[0] > busy


def test_every_bi_query_says_what_it_asks_and_reads_only_marts():
    found = queries()
    assert {"district_turnover_month", "year_flows", "center_performance", "top_centers", "funnel"} <= set(found)
    for name, text in found.items():
        assert describe(text), name
        schemas = set(re.findall(r"\bfrom\s+(\w+)\.", text, flags=re.IGNORECASE))
        assert schemas == {"marts"}, name


def test_percentiles_pick_from_the_sorted_timings():
    timings = [float(n) for n in range(100, 0, -1)]
    assert _percentile(timings, 0.5) == 51.0
    assert _percentile(timings, 0.95) == 95.0
    assert _percentile([7.0], 0.95) == 7.0


def test_the_incremental_target_is_that_of_the_scale_measured():
    assert target_ratio(10) == 0.15
    assert target_ratio(50) == 0.15  # between the listed scales: the smaller one's, the looser
    assert target_ratio(100) == target_ratio(250) == 0.10
    assert target_ratio(1) == 0.15  # below every listed scale: the smallest one's
