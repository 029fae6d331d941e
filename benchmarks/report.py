"""Run the benchmark suite (or read its JSON) and print the Markdown table of the README.

    python benchmarks/report.py                      # runs pytest benchmarks --benchmark-only
    python benchmarks/report.py --runs 3             # three runs of the suite, medians of them
    python benchmarks/report.py --json a.json b.json # reads results of earlier runs
    python benchmarks/report.py --update-readme      # also rewrites the table in README.md

Columns: median time of the whole workload (the loop backend's time per sample is scaled to the
full sample count, marked *), speed-up over loop, over numpy, over the workload's reference row
(the course's plain NumPy code, scikit-learn's estimator, the same data in memory, the same work
alone, its products alone: its "floor"; named in the cell), GFLOP/s, and the share of the
machine's GEMM peak (a 2048 x 2048 NumPy matmul in the same run). Every ratio is taken within
one run; with several runs the table gives the median over the runs of each time and of each
ratio (this machine's speed drifts from minute to minute, by 20-50 %). Then the cat script's
wall time, a fresh process with the Numba cache cold and warm.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- benchmark table: begin -->", "<!-- benchmark table: end -->"
COLUMNS = ("loop", "numpy")  # a column each
# The rows another row of its workload is measured against (the first one present).
REFERENCES = ("course", "scikit-learn", "in memory", "alone", "floor", "blas floor",
              "warm cache", "adam")


def run_suite(json_path: Path) -> None:
    command = [sys.executable, "-m", "pytest", str(ROOT / "benchmarks"), "--benchmark-only",
               f"--benchmark-json={json_path}", "-q", "-p", "no:cacheprovider"]
    subprocess.run(command, check=True, cwd=ROOT)


def script_seconds() -> tuple | None:
    """(cold, warm) wall seconds of ``python examples/train_cat_classifier.py --quiet``: two
    fresh processes sharing one new, empty Numba cache folder (None without the cat files)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "examples/train_cat_classifier.py", "--quiet"],
                                  env=env, capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                return None
            times.append(time.perf_counter() - start)
    return tuple(times)


def machine_line(data: dict) -> str:
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {}).get("brand_raw") or platform.processor() or "unknown CPU"
    import numba
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, Numba {numba.__version__}")


def _rows(data: dict) -> tuple:
    """One run's ``{(workload, dtype, label): (seconds, flops, scaled)}, {dtype: peak}`` and
    the order the rows came in."""
    rows, peak, order = {}, {}, []
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        scale = info["full_samples"] / info["samples"]
        seconds = bench["stats"]["median"] * scale
        flops = info["flops"] * scale if info.get("flops") else None
        if info["workload"] == "gemm_peak":
            peak[info["dtype"]] = flops / seconds
            continue
        key = (info["workload"], info["dtype"], info["backend"])
        rows[key] = (seconds, flops, scale != 1)
        order.append(key)
    return rows, peak, order


def table(runs: list) -> str:
    """The Markdown table of one or more runs of the suite (their JSON data)."""
    parsed = [_rows(data) for data in runs]
    rows, _, order = parsed[0]
    order = sorted(order, key=lambda key: (order.index(next(k for k in order
                                                            if k[0] == key[0])),
                                           key[1] != "float64", order.index(key)))
    lines = ["| workload | dtype | backend | median | vs loop | vs numpy | vs reference "
             "| GFLOP/s | % of peak |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for key in order:
        workload, dtype, label = key
        flops, scaled = rows[key][1], rows[key][2]
        seconds = _median([r[key][0] for r, _, _ in parsed])
        ratios = {}
        for reference in COLUMNS + REFERENCES:
            ref = (workload, dtype, reference)
            if ref in rows and reference not in ratios:
                ratios[reference] = _median([r[ref][0] / r[key][0] for r, _, _ in parsed])
        named = next((name for name in REFERENCES if name in ratios), None)
        rate = share = ""
        if flops:
            rate = f"{flops / seconds / 1e9:.2f}"
            shares = [100 * flops / r[key][0] / p[dtype] for r, p, _ in parsed if dtype in p]
            share = f"{_median(shares):.1f} %" if shares else ""
        cells = [_ratio(ratios.get(column)) for column in COLUMNS]
        cells.append("" if named is None else f"{_ratio(ratios[named], 2)} {named}")
        lines.append(f"| {workload} | {dtype} | {label} | {_time(seconds)}{' *' if scaled else ''}"
                     f" | {' | '.join(cells)} | {rate} | {share} |")
    peaks = ", ".join(f"{d} {_median([p[d] for _, p, _ in parsed]) / 1e9:.0f} GFLOP/s"
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


def _ratio(ratio, digits: int = 1) -> str:
    return "" if ratio is None else f"{ratio:.{digits}f}x"


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, nargs="+",
                        help="read these results (one file per run) instead of running")
    parser.add_argument("--keep", type=Path, help="a folder to keep the runs' JSON in")
    parser.add_argument("--runs", type=int, default=1, help="runs of the suite (default 1)")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--no-startup", action="store_true",
                        help="skip timing the cat script cold and warm")
    args = parser.parse_args(argv)
    paths = args.json
    if paths is None:
        folder = args.keep or Path(tempfile.mkdtemp())
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / f"benchmarks-{run}.json" for run in range(max(1, args.runs))]
        for path in paths:
            run_suite(path)
    runs = [json.loads(path.read_text()) for path in paths]
    text = table(runs)
    if not args.no_startup:
        seconds = script_seconds()
        if seconds is not None:
            text += (f"\n\n`python examples/train_cat_classifier.py` (2500 steps, the plan it "
                     f"picks), a fresh process, wall time: {seconds[0]:.1f} s with the Numba "
                     f"cache cold, {seconds[1]:.1f} s warm.")
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
