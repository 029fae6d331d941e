"""Compare the speed of two revisions on benchmark rows: fresh processes, taking turns.

    python benchmarks/compare.py ddd2e13 spiral_epoch_per_sample:numba planar_fit_per_sample:numba
    python benchmarks/compare.py HEAD~3 HEAD cat_step:numba --dtype float32 --processes 7

A revision is a git commit (its ``fastnn`` and ``benchmarks`` folders, extracted once into
``.benchmarks/revisions/<commit>``, so the Numba cache of its kernels survives between calls)
or ``worktree`` (the default second one: the files as they are now). Each process imports one
revision, warms one row up and times ``--runs`` runs of it; the processes of the two revisions
take turns, ``--processes`` each. Printed per row: each revision's best time and median time
(over its processes' minima), and new / old of both.

Why processes: two revisions timed in one process don't measure each other fairly. On the
2-core benchmark machine, whichever of two compiled kernels ran first in a round stayed
1.2-1.9x faster for the whole session, in either order (the arrays' placement, not the code),
and this machine's speed drifts 20-50 % between minutes; taking turns spreads the drift over
both.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / ".benchmarks" / "revisions"

# Run in each process, with the revision's folder first on sys.path (and as the working
# directory: ahead of an editable install's finder); prints the minimum and
# the median seconds of ``runs`` runs of the row after one warm-up run.
TIMER = """
import sys, time
workload, label, dtype, runs, folder = sys.argv[1:4] + [int(sys.argv[4]), sys.argv[5]]
import fastnn
if not fastnn.__file__.startswith(folder):
    raise SystemExit(f"imported {fastnn.__file__}, not the revision in {folder}")
import workloads
case = workloads.WORKLOADS[workload][label](dtype)
(case.warm or case.run)()
times = []
for _ in range(runs):
    if getattr(case, "setup", None):
        case.setup()
    start = time.perf_counter()
    case.run()
    times.append(time.perf_counter() - start)
times.sort()
print(times[0], times[len(times) // 2])
"""


def checkout(revision: str) -> Path:
    """The folder holding ``revision``'s fastnn and benchmarks (the worktree itself for
    "worktree")."""
    if revision == "worktree":
        return ROOT
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
                            cwd=ROOT, capture_output=True, text=True)
    if commit.returncode:
        raise SystemExit(f"compare: revision {revision!r} is not a commit of this repository")
    folder = STORE / commit.stdout.strip()
    if not (folder / "fastnn").is_dir():
        archive = subprocess.run(["git", "archive", commit.stdout.strip(), "fastnn",
                                  "benchmarks"], cwd=ROOT, capture_output=True, check=True)
        with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
            tar.extractall(folder, filter="data")
    return folder


def time_row(folder: Path, row: str, dtype: str, runs: int) -> float:
    """The minimum seconds of ``runs`` runs of ``row`` ("workload:label"), in a fresh process
    that imports fastnn from ``folder``."""
    workload, label = row.split(":")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), str(folder / "benchmarks")]))
    done = subprocess.run([sys.executable, "-c", TIMER, workload, label, dtype, str(runs),
                           str(folder)], env=env, capture_output=True, text=True, cwd=folder)
    if done.returncode:
        raise SystemExit(f"compare: {row} failed in {folder}:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-2])


def compare(old: str, new: str, rows: list, dtype: str, processes: int, runs: int) -> list:
    """``(row, old minima, new minima)`` per row, seconds, the two revisions taking turns."""
    folders = checkout(old), checkout(new)
    results = []
    for row in rows:
        minima = ([], [])
        for _ in range(processes):
            for side in (0, 1):
                minima[side].append(time_row(folders[side], row, dtype, runs))
        results.append((row, *minima))
    return results


def summary(row: str, old: list, new: list) -> str:
    best = min(new) / min(old)
    median = statistics.median(new) / statistics.median(old)
    return (f"{row}: old best {min(old) * 1e3:.3f} ms, median {statistics.median(old) * 1e3:.3f}"
            f" | new best {min(new) * 1e3:.3f} ms, median {statistics.median(new) * 1e3:.3f}"
            f" | new / old: best {best:.2f}, median {median:.2f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="a commit (or 'worktree')")
    parser.add_argument("new", nargs="?", default="worktree",
                        help="a commit, or 'worktree' (default)")
    parser.add_argument("rows", nargs="+", help="workload:label, e.g. cat_step:numba")
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parser.add_argument("--processes", type=int, default=5, help="processes per revision")
    parser.add_argument("--runs", type=int, default=100, help="timed runs per process")
    args = parser.parse_args(argv)
    if ":" in args.new:  # the second positional was a row: compare with the worktree
        args.rows.insert(0, args.new)
        args.new = "worktree"
    if args.processes < 1 or args.runs < 1:
        parser.error("--processes and --runs must be positive")
    for row in args.rows:
        if row.count(":") != 1:
            parser.error(f"row {row!r} is not workload:label")
    print(f"{args.old} (old) vs {args.new} (new), {args.dtype}, {args.processes} processes "
          f"each, {args.runs} runs per process")
    for result in compare(args.old, args.new, args.rows, args.dtype, args.processes, args.runs):
        print(summary(*result), flush=True)


if __name__ == "__main__":
    main()
