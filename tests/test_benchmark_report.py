"""The benchmark report's table: medians over runs, every ratio taken within one run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import report  # noqa: E402


def _run(numpy_ms, numba_ms, peak_gflops):
    def bench(backend, ms, workload="cat_step", flops=2e8):
        return {"stats": {"median": ms / 1e3},
                "extra_info": {"workload": workload, "backend": backend, "dtype": "float64",
                               "flops": flops, "samples": 209, "full_samples": 209}}
    return {"benchmarks": [bench("numpy", numpy_ms), bench("numba", numba_ms),
                           bench("numpy", 1e3, "gemm_peak", peak_gflops * 1e9)]}


def _row(text, backend):
    return next(line for line in text.splitlines() if f"| cat_step | float64 | {backend} |" in line)


def test_one_run_gives_its_times_and_ratios():
    text = report.table([_run(6.0, 3.0, 100)])
    cells = [c.strip() for c in _row(text, "numba").split("|")]
    assert cells[4:10] == ["3.00 ms", "", "2.0x", "", "66.67", "66.7 %"]
    assert "float64 100 GFLOP/s" in text and "one run" in text


def test_several_runs_give_medians_of_times_and_of_ratios_within_runs():
    # the second run is slow all over: its ratio is still 2; the third is an odd one out
    runs = [_run(6.0, 3.0, 100), _run(12.0, 6.0, 100), _run(6.0, 6.0, 100)]
    text = report.table(runs)
    cells = [c.strip() for c in _row(text, "numba").split("|")]
    assert cells[4] == "6.00 ms"  # median of 3, 6, 6
    assert cells[6] == "2.0x"  # median of the ratios 2, 2, 1 (not 6 / 6)
    assert cells[9] == "33.3 %"  # median of the shares of peak, 66.7, 33.3, 33.3
    assert "medians of 3 runs" in text


def test_fit_rows_compare_with_the_course_and_report_no_flops():
    def bench(backend, ms):
        return {"stats": {"median": ms / 1e3},
                "extra_info": {"workload": "cat_fit", "backend": backend, "dtype": "float32",
                               "flops": None, "samples": 209, "full_samples": 209}}
    text = report.table([{"benchmarks": [bench("course", 6000.0), bench("numpy", 900.0),
                                         bench("numba", 200.0)]}])
    line = next(line for line in text.splitlines() if "| cat_fit | float32 | numba |" in line)
    cells = [c.strip() for c in line.split("|")]
    assert cells[4:10] == ["200.00 ms", "", "4.5x", "30.00x course", "", ""]
