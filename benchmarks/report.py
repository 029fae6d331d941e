"""Run the benchmark suite (or read its JSON) and print the Markdown table of the README.

    python benchmarks/report.py                      # runs pytest benchmarks --benchmark-only
    python benchmarks/report.py --runs 3             # three runs of the suite, medians of them
    python benchmarks/report.py --json a.json b.json # reads results of earlier runs
    python benchmarks/report.py --update-readme      # also rewrites the table in README.md

Columns: median time of the whole workload (the loop backend's time per sample is scaled to the
full sample count, marked *), speed-up over loop and over numpy, GFLOP/s, and the share of the
machine's GEMM peak (a 2048 x 2048 NumPy matmul in the same run). Every ratio is taken within one
run; with several runs the table gives the median over the runs of each time and of each ratio
(this machine's speed drifts from minute to minute, by 20-50 %). Then the start-up time: a fresh
process from ``import fastnn`` to the end of its first training step, Numba cache cold and warm.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- benchmark table: begin -->", "<!-- benchmark table: end -->"
ORDER = ("dense_forward", "dense_backward", "cat_step", "cat_epoch_minibatch64",
         "planar_epoch_per_sample")
STARTUP = """
import time
start = time.perf_counter()
import numpy as np
import fastnn
X = np.random.default_rng(0).random((209, 12288))
y = np.arange(209) % 2
layers = [fastnn.Dense(n, activation="relu") for n in (20, 7, 5)]
layers.append(fastnn.Dense(1, activation="sigmoid"))
model = fastnn.Sequential(layers, input_dim=12288, init="lecun", seed=1)
model.fit(X, y, loss="bce", optimizer=fastnn.SGD(lr=0.0075), epochs=1, backend="numba")
print(time.perf_counter() - start)
"""


def run_suite(json_path: Path) -> None:
    command = [sys.executable, "-m", "pytest", str(ROOT / "benchmarks"), "--benchmark-only",
               f"--benchmark-json={json_path}", "-q", "-p", "no:cacheprovider"]
    subprocess.run(command, check=True, cwd=ROOT)


def startup_seconds() -> tuple:
    """(cold, warm): two fresh processes sharing one new, empty Numba cache folder."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", STARTUP], env=env, check=True,
                                 capture_output=True, text=True, cwd=ROOT)
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return tuple(times)


def machine_line(data: dict) -> str:
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {}).get("brand_raw") or platform.processor() or "unknown CPU"
    import numba
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, Numba {numba.__version__}")


def _rows(data: dict) -> tuple:
    """One run's ``{(workload, dtype, backend): (seconds, flops, scaled)}, {dtype: peak}``."""
    rows, peak = {}, {}
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        scale = info["full_samples"] / info["samples"]
        seconds = bench["stats"]["median"] * scale
        flops = info["flops"] * scale
        if info["workload"] == "gemm_peak":
            peak[info["dtype"]] = flops / seconds
            continue
        rows[(info["workload"], info["dtype"], info["backend"])] = (seconds, flops, scale != 1)
    return rows, peak


def table(runs: list) -> str:
    """The Markdown table of one or more runs of the suite (their JSON data)."""
    parsed = [_rows(data) for data in runs]
    rows, _ = parsed[0]
    lines = ["| workload | dtype | backend | median | vs loop | vs numpy | GFLOP/s | % of peak |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for workload in ORDER:
        for dtype in ("float64", "float32"):
            for backend in ("loop", "numpy", "numba"):
                key = (workload, dtype, backend)
                if key not in rows:
                    continue
                flops, scaled = rows[key][1], rows[key][2]
                seconds = _median([r[key][0] for r, _ in parsed])
                ratios = {}
                for reference in ("loop", "numpy"):
                    ref = (workload, dtype, reference)
                    if ref in rows:
                        ratios[reference] = _median([r[ref][0] / r[key][0] for r, _ in parsed])
                share = _median([100 * flops / r[key][0] / p[dtype] if dtype in p else float("nan")
                                 for r, p in parsed])
                lines.append(
                    f"| {workload} | {dtype} | {backend} | {_time(seconds)}{' *' if scaled else ''}"
                    f" | {_ratio(ratios.get('loop'))} | {_ratio(ratios.get('numpy'))} "
                    f"| {flops / seconds / 1e9:.2f} | {share:.1f} % |")
    peaks = ", ".join(f"{d} {_median([p[d] for _, p in parsed]) / 1e9:.0f} GFLOP/s"
                      for d in ("float64", "float32") if d in parsed[0][1])
    runs_note = f"medians of {len(runs)} runs, each ratio taken within a run" if len(runs) > 1 \
        else "one run"
    lines.append("")
    lines.append(f"GEMM peak (2048x2048 NumPy matmul, same run): {peaks}. Times and ratios: "
                 f"{runs_note}. * loop backend timed on a few samples and scaled to the full "
                 f"workload.")
    return "\n".join(lines)


def _median(values: list) -> float:
    return float(statistics.median(values))


def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _ratio(ratio) -> str:
    return "" if ratio is None else f"{ratio:.1f}x"


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, nargs="+",
                        help="read these results (one file per run) instead of running")
    parser.add_argument("--runs", type=int, default=1, help="runs of the suite (default 1)")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up timing")
    args = parser.parse_args(argv)
    paths = args.json
    if paths is None:
        folder = Path(tempfile.mkdtemp())
        paths = [folder / f"benchmarks-{run}.json" for run in range(max(1, args.runs))]
        for path in paths:
            run_suite(path)
    runs = [json.loads(path.read_text()) for path in paths]
    text = table(runs)
    if not args.no_startup:
        cold, warm = startup_seconds()
        text += (f"\n\nStart-up, fresh process from `import fastnn` to the end of the first "
                 f"training step of the deep cat model (numba): {cold:.2f} s with the Numba cache "
                 f"cold, {warm:.2f} s warm.")
    text += f"\n\nMachine: {machine_line(runs[0])}."
    print(text)
    if args.update_readme:
        readme = ROOT / "README.md"
        content = readme.read_text()
        start, stop = content.index(BEGIN) + len(BEGIN), content.index(END)
        readme.write_text(content[:start] + "\n" + text + "\n" + content[stop:])
    return text


if __name__ == "__main__":
    main()
