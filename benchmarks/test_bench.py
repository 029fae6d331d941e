"""Loop vs NumPy vs Numba on the cat data: ``pytest benchmarks --benchmark-only``.

One group per workload and dtype, its rows side by side. Compile time never counts: every case
runs (or warms up) once before timing. ``extra_info`` carries the FLOPs and the samples covered,
so the report (``python benchmarks/report.py``) can show GFLOP/s and scale the loop backend.
"""

import time

import numpy as np
import pytest
import workloads
from workloads import WORKLOADS

DTYPES = ("float64", "float32")
# OpenBLAS' worker threads spin for a while after each NumPy product before they sleep; a
# benchmark that starts right after a NumPy one would share the cores with them. Then the cores
# need some busy time before a timing is representative (clock and thread placement settle):
# each workload runs untimed for WARM_SECONDS first.
BLAS_IDLE = workloads.BLAS_IDLE
WARM_SECONDS = 0.5
ROWS = [(workload, label) for workload, rows in WORKLOADS.items() for label in rows]


def settle(case, label):
    """Compile, let the BLAS threads go idle, then run untimed until the machine is warm."""
    (case.warm or case.run)()
    time.sleep(BLAS_IDLE)
    if label == "loop" or case.rounds == 1:
        return
    end = time.perf_counter() + WARM_SECONDS
    while time.perf_counter() < end:
        case.run()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("workload,label", ROWS, ids=[f"{w}-{b}" for w, b in ROWS])
def test_workload(benchmark, workload, label, dtype):
    case = WORKLOADS[workload][label](dtype)
    benchmark.group = f"{workload}|{dtype}"
    benchmark.extra_info.update({
        "workload": workload, "backend": label, "dtype": dtype, "flops": case.flops,
        "samples": case.samples, "full_samples": case.full_samples, "data": case.data,
    })
    if benchmark.disabled:  # (--benchmark-disable: a smoke run, one call, nothing to settle)
        benchmark(case.warm or case.run)
        return
    settle(case, label)
    benchmark.pedantic(case.run, setup=case.setup, rounds=case.rounds, warmup_rounds=0,
                       iterations=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_peak(benchmark, dtype):
    """The machine's ceiling: a 2048 x 2048 NumPy (BLAS) matmul, measured in the same run."""
    n = 2048
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(n, n)).astype(dtype), rng.normal(size=(n, n)).astype(dtype)
    benchmark.group = f"gemm_peak|{dtype}"
    benchmark.extra_info.update({"workload": "gemm_peak", "backend": "numpy", "dtype": dtype,
                                 "flops": 2 * n**3, "samples": n, "full_samples": n})
    benchmark.pedantic(lambda: a @ b, rounds=5, warmup_rounds=1, iterations=1)
