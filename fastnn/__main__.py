"""``python -m fastnn compile``: compile the numba backend's kernels into the cache, ahead.

    python -m fastnn compile                   # every set: float64, float32; dense, sparse X
    python -m fastnn compile --dtype float64   # the float64 sets only
    python -m fastnn compile --kind dense

One line per kernel as it compiles (or loads, where it is cached already). For machines that
start cold every time: a CI runner, a container image, the nodes of a cluster (see the README).
``--background --sets NAME ...`` is what fastnn's planner starts in a background process
(``fastnn.compiling``): low priority, silent, and only where no other process is compiling
into the same cache folder.
"""

import argparse
import os
import sys
import time

from . import compiling


def _lowest_priority() -> None:
    """Run only where a core would idle: SCHED_IDLE on Linux (a compile at nice 19 still took
    time slices from the fit's BLAS threads: a 2-thread numpy epoch ran 4-8x slower beside
    it), else nice 19."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError:
            pass
    if hasattr(os, "nice"):
        os.nice(19)


def _background(names: list) -> int:
    """Compile ``names`` at the lowest priority, unless another process is compiling."""
    _lowest_priority()
    if compiling.compiling_now():
        return 0
    from . import backends

    for name in names:
        if compiling.state(name) == "missing":
            backends.get("numba").compile_kernels(name)
    return 0


def compile_command(args) -> int:
    if args.background:
        return _background(args.sets)
    folder = compiling.cache_folder()
    if folder is None or not compiling.writable():
        print(f"fastnn compile: no writable cache folder ({folder or 'none found'}): set "
              f"NUMBA_CACHE_DIR to a writable folder", file=sys.stderr)
        return 1
    print(f"fastnn compile: into {folder}", flush=True)
    from . import backends

    start = time.perf_counter()
    for dtype in args.dtype:
        for kind in args.kind:
            name = compiling.kernel_set(dtype, kind == "sparse")
            before = compiling.state(name)

            def progress(entry, seconds, name=name, before=before):
                verb = "loaded" if before != "missing" else "compiled"
                print(f"  {name}: {entry} {verb} in {seconds:.1f} s", flush=True)
            backends.get("numba").compile_kernels(name, progress)
            ready = compiling.state(name) != "missing"
            print(f"{name}: {'cached' if ready else 'NOT cached (could not save)'}", flush=True)
    print(f"fastnn compile: done in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastnn",
                                     description="fastnn's commands")
    commands = parser.add_subparsers(dest="command", required=True)
    compile_parser = commands.add_parser(
        "compile", help="compile the numba kernels into the cache ahead of use",
        description=__doc__.split("\n\n")[0])
    compile_parser.add_argument("--dtype", nargs="+", choices=compiling.DTYPES,
                                default=list(compiling.DTYPES))
    compile_parser.add_argument("--kind", nargs="+", choices=compiling.KINDS,
                                default=list(compiling.KINDS), help="of X: dense or sparse")
    compile_parser.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    compile_parser.add_argument("--sets", nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return compile_command(args)


if __name__ == "__main__":
    sys.exit(main())
