"""Measure the per-epoch costs the planner's time-to-result estimates read (``fastnn.plans``).

    python benchmarks/costs.py            # float64; prints the fitted constants and the errors

Times one epoch of ``train_epochs`` (as a fit runs it) on the numpy and numba backends over a
grid of nets, batch sizes and optimizers, then fits, per backend, the model of
``plans.epoch_seconds`` by non-negative least squares on relative errors:

    seconds = batches * (per_batch + per_layer * layers) + multiply_adds * per_madd
              + batches * parameters * (per_sgd_update or per_adam_update)
              + samples * units * per_unit

and prints the constants to write into ``plans.EPOCH_COSTS`` with each shape's measured and
predicted time.
"""

import itertools
import sys
import time

import numpy as np
import scipy.optimize

import fastnn
from fastnn import backends
from fastnn.activations import ACTIVATIONS
from fastnn.initializers import initial_weights
from fastnn.losses import LOSSES
from fastnn.network import Batches, Net, Objective
from fastnn.plans import epoch_features

NETS = ((2, 4, 1), (30, 50, 50, 1), (64, 100, 10), (100, 64, 10), (784, 128, 10),
        (256, 256, 256, 1), (3000, 200, 1))
BATCHES = (1, 16, 64, 200, None)
SAMPLES = 2000
SOLVERS = {"sgd": lambda: fastnn.SGD(0.01, momentum=0.9), "adam": lambda: fastnn.Adam()}


def epoch_time(backend, sizes, batch, solver, dtype="float64", budget=0.4) -> float:
    """The median seconds of one epoch of ``train_epochs`` on ``backend`` (SAMPLES samples)."""
    kernels = backends.get(backend)
    rng = np.random.default_rng(0)
    n = SAMPLES if sizes[0] < 1000 else 500
    X = rng.random((n, sizes[0])).astype(dtype)
    k = sizes[-1]
    Y = np.eye(k, dtype=dtype)[rng.integers(0, k, n)] if k > 1 else \
        rng.integers(0, 2, (n, 1)).astype(dtype)
    acts = ["relu"] * (len(sizes) - 2) + ["softmax" if k > 1 else "sigmoid"]
    net = Net(np.array(sizes, np.int64), np.array([ACTIVATIONS[a] for a in acts], np.int64),
              np.ones(len(acts), np.int64), 0)
    flat = initial_weights("xavier", sizes, 0, dtype)
    rule = SOLVERS[solver]().bind(flat)
    objective = Objective(LOSSES["cce" if k > 1 else "bce"], 0.0, np.empty(0))
    inputs = kernels.prepare_inputs(X)
    orders = rng.permutation(n).reshape(1, n)
    batch = n if batch is None else batch

    def run():
        kernels.train_epochs(flat, net, objective, Batches(inputs, Y, orders, batch), rule,
                             np.zeros((1, 2)))
    run()
    times, end = [], time.perf_counter() + budget
    while time.perf_counter() < end or len(times) < 3:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), n


def main() -> None:
    rows = []
    for sizes, batch, solver in itertools.product(NETS, BATCHES, SOLVERS):
        if batch == 1 and sizes[0] * sizes[1] > 10000:
            continue  # (per-sample epochs of the wide nets: long on numpy, and nobody's case)
        for backend in ("numpy", "numba"):
            seconds, n = epoch_time(backend, sizes, batch, solver)
            rows.append((backend, sizes, batch or n, solver, n, seconds))
            print(f"{backend:6s} {sizes} batch {batch or n:5d} {solver:4s}: "
                  f"{seconds * 1e3:9.3f} ms", file=sys.stderr, flush=True)
    for backend in ("numpy", "numba"):
        mine = [row for row in rows if row[0] == backend]
        A = np.array([epoch_features(sizes, n, batch, solver)
                      for _, sizes, batch, solver, n, _ in mine])
        t = np.array([row[-1] for row in mine])
        coefficients, _ = scipy.optimize.nnls(A / t[:, None], np.ones(len(t)))
        predicted = A @ coefficients
        errors = predicted / t
        names = ("per_batch", "per_layer", "per_madd", "per_sgd_update", "per_adam_update",
                 "per_unit")
        print(f"{backend}: " + ", ".join(f"{name} {c:.2g}" for name, c in
                                          zip(names, coefficients)))
        print(f"  predicted / measured: median {np.median(errors):.2f}, "
              f"min {errors.min():.2f}, max {errors.max():.2f}")
        for (_, sizes, batch, solver, _, seconds), p in zip(mine, predicted):
            print(f"  {str(sizes):22s} batch {batch:5d} {solver:4s} measured {seconds * 1e3:9.3f}"
                  f" ms, predicted {p * 1e3:9.3f} ms")


if __name__ == "__main__":
    main()
