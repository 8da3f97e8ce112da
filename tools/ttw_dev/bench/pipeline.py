"""``ttw bench pipeline``: generate → ingest → build → audit → publish at a scale, stage by stage.

The pipeline runs in a warehouse of its own (an embedded server with its data under
``$TTW_HOME/bench/pipeline-scale{S}-seed{N}/home``, on the port after the project's),
made afresh each time, so the figures start from an empty database like a first load.
Each stage is a child process (``python -m ttw_dev.bench.pipeline STAGE``) calling the same
functions as the CLI, so its own peak resident memory is measured on its own (with
dbt, which it starts). Beside it, a sampler reads the machine every quarter second:
memory in use (MemTotal - MemAvailable, so the database server's memory counts and the
page cache does not) and busy CPU time, split into the stage's own processes and the
rest (the database server, mostly). ``ttw bench query`` later reads the same warehouse.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from ttw.settings import Settings

STAGES = ("generate", "ingest", "build", "audit", "publish")


def _centers_apart(scale: float, centers_scale: float | None) -> bool:
    """Whether the center program was sized apart from ``scale``."""
    return centers_scale not in (None, scale)


def scale_options(scale: float, seed: int, centers_scale: float | None = None) -> str:
    """``--scale S [--centers-scale C] --seed N``, as the commands take them."""
    centers = f" --centers-scale {centers_scale:g}" if _centers_apart(scale, centers_scale) else ""
    return f"--scale {scale:g}{centers} --seed {seed}"


def pipeline_home(settings: Settings, scale: float, seed: int, centers_scale: float | None = None) -> Path:
    centers = f"-centers{centers_scale:g}" if _centers_apart(scale, centers_scale) else ""
    return settings.home_dir / "bench" / f"pipeline-scale{scale:g}{centers}-seed{seed}" / "home"


def bench_settings(settings: Settings, scale: float, seed: int, centers_scale: float | None = None) -> Settings:
    """The pipeline warehouse's settings: its own home, the next port, always embedded."""
    return Settings(
        **{
            **settings.model_dump(),
            "home": pipeline_home(settings, scale, seed, centers_scale),
            "warehouse_port": settings.warehouse_port + 1,
            "warehouse_url": None,
        }
    )


def _child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TTW_WAREHOUSE_URL"}
    env.update({"TTW_HOME": str(settings.home_dir), "TTW_WAREHOUSE_PORT": str(settings.warehouse_port)})
    return env


def _memory_in_use() -> int:
    fields = {}
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            key, value = line.split(":", 1)
            fields[key] = int(value.split()[0])
    return (fields["MemTotal"] - fields["MemAvailable"]) * 1024


def _cpu_seconds() -> tuple[float, float]:
    """(busy, iowait) seconds of the whole machine since boot."""
    with open("/proc/stat", encoding="ascii") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle, iowait = values[3], values[4]
    return (sum(values[:8]) - idle - iowait) / ticks, iowait / ticks


class _Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.baseline = _memory_in_use()
        self.peak = self.baseline
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.25):
            self.peak = max(self.peak, _memory_in_use())

    def stop(self) -> None:
        self._done.set()
        self.join()


def _run_stage(settings: Settings, stage: str, data: Path, scale: float, seed: int, centers_scale: float) -> dict:
    result_file = settings.home_dir.parent / f"{stage}.json"
    command = [sys.executable, "-m", "ttw_dev.bench.pipeline", stage, str(data), str(result_file)]
    command += [str(scale), str(seed), str(centers_scale)]
    sampler = _Sampler()
    sampler.start()
    busy_before, iowait_before = _cpu_seconds()
    started = time.perf_counter()
    child = subprocess.Popen(command, env=_child_env(settings))
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    busy_after, iowait_after = _cpu_seconds()
    sampler.stop()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"stage {stage} failed (exit {child.returncode}); its output is above")
    own_cpu = usage.ru_utime + usage.ru_stime
    machine_cpu = busy_after - busy_before
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "machine_memory_peak_mib": round(sampler.peak / 2**20),
        "machine_memory_added_mib": round((sampler.peak - sampler.baseline) / 2**20),
        "cpu_seconds_stage": round(own_cpu, 1),
        "cpu_seconds_other": round(max(machine_cpu - own_cpu, 0), 1),
        "iowait_seconds": round(iowait_after - iowait_before, 1),
        "cores_busy": round(machine_cpu / seconds, 2) if seconds else 0,
        **json.loads(result_file.read_text(encoding="utf-8")),
    }


def run(
    settings: Settings, scale: float, seed: int, data: Path | None = None, *, centers_scale: float | None = None
) -> dict:
    """Every stage from an empty warehouse; ``data`` skips generation (a dataset made before),
    ``centers_scale`` sizes the center program apart from the registry (see ``generate``)."""
    from ttw.warehouse import start_embedded, stop_embedded

    centers_scale = scale if centers_scale is None else centers_scale
    bench = bench_settings(settings, scale, seed, centers_scale)
    stop_embedded(bench)
    if bench.home_dir.exists():
        shutil.rmtree(bench.home_dir)
    bench.home_dir.mkdir(parents=True)
    generated = data is None
    data = data or bench.home_dir.parent / "dataset"
    if generated and data.exists():
        shutil.rmtree(data)

    started = time.perf_counter()
    start_embedded(bench)
    stages = {"start warehouse": {"seconds": round(time.perf_counter() - started, 1)}}
    try:
        for stage in STAGES:
            if stage == "generate" and not generated:
                continue
            stages[stage] = _run_stage(bench, stage, data, scale, seed, centers_scale)
    finally:
        stop_embedded(bench)  # `ttw bench query` starts it again
    timed = {name: figures["seconds"] for name, figures in stages.items()}
    biggest = max(timed, key=timed.get)
    return {
        "benchmark": "pipeline",
        "command": f"ttw bench pipeline {scale_options(scale, seed, centers_scale)}"
        + ("" if generated else f" --data {data}"),
        "scale": scale,
        "centers_scale": centers_scale,
        "warehouse": f"embedded, data in {bench.pgdata}, port {bench.warehouse_port}",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "system": platform.platform(),
        },
        "dataset": str(data),
        "stages": stages,
        "total_seconds": round(sum(timed.values()), 1),
        "biggest_stage": biggest,
        "peak_rss_mib": max(s.get("peak_rss_mib", 0) for s in stages.values()),
        "machine_memory_peak_mib": max(s.get("machine_memory_peak_mib", 0) for s in stages.values()),
    }


def _stage(stage: str, data: Path, scale: float, seed: int, centers_scale: float) -> dict:
    """One stage in this process, as the CLI runs it; returns what it did."""
    from ttw.settings import get_settings
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    if stage == "generate":
        from ttw_dev.generate import generate

        manifest = generate(data, scale=scale, seed=seed, centers_scale=centers_scale)
        return {"files": sum(t["files"] for t in manifest.by_folder().values()), "rows": manifest.by_folder()}
    target = ensure_warehouse(settings)
    if stage == "ingest":
        from ttw_dev.dataset import ingest_dataset

        loaded = ingest_dataset(target, data)
        if not loaded.ok:
            raise SystemExit(f"ingest failed: {loaded}")
        return {
            "rows_loaded": {name: report.rows_loaded for name, report in loaded.files.items()},
            "platform_records": sum(loaded.platform_records.values()),
        }
    if stage == "build":
        from ttw.build import build

        output = build(settings, target, full_refresh=True)
        return {"dbt": next((line.split("Done.")[1].strip() for line in output.splitlines() if "Done." in line), "")}
    if stage == "audit":
        from ttw.quality import audit

        result = audit(settings, target)
        if not result.ok:
            raise SystemExit(f"audit failed {len(result.failed_critical)} critical check(s)")
        return {"checks": len(result.checks), "failed_warnings": sum(not c.success for c in result.checks)}
    if stage == "publish":
        from ttw.publish import publish

        counts = publish(settings, target)
        return {"tables": len(counts), "fact_rows": counts.get("fct_tech_contracts", 0)}
    raise SystemExit(f"unknown stage {stage}")


if __name__ == "__main__":
    name, dataset, result_path, scale_arg, seed_arg, centers_arg = sys.argv[1:7]
    done = _stage(name, Path(dataset), float(scale_arg), int(seed_arg), float(centers_arg))
    Path(result_path).write_text(json.dumps(done, ensure_ascii=False, default=str), encoding="utf-8")
