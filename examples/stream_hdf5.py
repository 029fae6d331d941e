"""Train on an HDF5 dataset larger than a memory cap, read window by window (fastnn.streams).

    python examples/stream_hdf5.py            # 24,000 x 2,000 float32 (183 MB), cap 128 MB
    python examples/stream_hdf5.py --rows 100000 --memory-cap-mb 256 --compare

Writes the dataset chunk by chunk (never whole in memory; chunks of 256 rows), a learnable binary
target, then trains a 2000-64-1 ReLU/sigmoid net on it in batches of 256 straight from the file.
Prints the throughput and how much the process grew (its peak resident memory) against the cap.
``--compare`` then loads the data and trains the same way in memory, for the throughput ratio.
"""

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from _common import run

import fastnn


def write_dataset(path: Path, rows: int, features: int, chunk: int, seed: int = 0):
    """X (rows, features) float32 in chunks; y = 1 where X @ w is above its median."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=features).astype(np.float32)
    scores = np.empty(rows, np.float32)
    with h5py.File(path, "w") as file:
        X = file.create_dataset("X", (rows, features), np.float32, chunks=(chunk, features))
        for start in range(0, rows, 8 * chunk):
            block = rng.normal(size=(min(8 * chunk, rows - start), features)).astype(np.float32)
            X[start:start + len(block)] = block
            scores[start:start + len(block)] = block @ w
        file.create_dataset("y", data=(scores > np.median(scores)).astype(np.int8))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> dict:
    cli = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cli.add_argument("--rows", type=int, default=24000)
    cli.add_argument("--features", type=int, default=2000)
    cli.add_argument("--chunk", type=int, default=256)
    cli.add_argument("--batch-size", type=int, default=256)
    cli.add_argument("--epochs", type=int, default=2)
    cli.add_argument("--memory-cap-mb", type=float, default=128)
    cli.add_argument("--path", help="where to write the dataset (default: a temporary file)")
    cli.add_argument("--compare", action="store_true", help="then train in memory too")
    cli.add_argument("--backend", choices=["auto", "loop", "numpy", "numba"], default="auto")
    args = cli.parse_args(argv)
    for name in ("rows", "features", "chunk", "batch_size", "epochs"):
        fastnn.checks.positive_int(f"--{name.replace('_', '-')}", getattr(args, name))
    folder = tempfile.TemporaryDirectory()
    path = Path(args.path or os.path.join(folder.name, "stream.h5"))
    dataset_mb = args.rows * args.features * 4 / 2**20
    print(f"writing {path}: {args.rows} x {args.features} float32 ({dataset_mb:.0f} MB, chunks "
          f"of {args.chunk} rows); memory cap {args.memory_cap_mb:.0f} MB")
    writer = multiprocessing.get_context("spawn").Process(  # (its memory is not ours)
        target=write_dataset, args=(path, args.rows, args.features, args.chunk))
    writer.start()
    writer.join()
    if writer.exitcode:
        raise OSError(f"--path: could not write {path}")

    def model():
        return fastnn.Sequential([fastnn.Dense(64, activation="relu"),
                                  fastnn.Dense(1, activation="sigmoid")],
                                 input_dim=args.features, dtype="float32", seed=0)

    options = dict(loss="bce", optimizer=fastnn.Adam(0.001), batch_size=args.batch_size,
                   backend=args.backend, seed=0)
    with h5py.File(path, "r") as file:
        y = file["y"][()]
        rng = np.random.default_rng(0)  # compile on a small in-memory batch first
        model().fit(rng.random((2 * args.batch_size, args.features), np.float32),
                    y[:2 * args.batch_size], epochs=1, **options)
        before = peak_mb()
        net = model()
        start = time.perf_counter()
        history = net.fit(file["X"], y, epochs=args.epochs, **options)
        seconds = time.perf_counter() - start
        grown = peak_mb() - before
    rate = args.rows * args.epochs / seconds
    results = {"streamed_samples_per_s": rate, "grown_mb": grown, "dataset_mb": dataset_mb,
               "accuracy": history.history["accuracy"][-1]}
    print(f"streamed: {rate:,.0f} samples/s, accuracy {100 * results['accuracy']:.1f} %, the "
          f"process grew by {grown:.0f} MB ({100 * grown / dataset_mb:.0f} % of the dataset; "
          f"cap {args.memory_cap_mb:.0f} MB: {'kept' if grown < args.memory_cap_mb else 'over'})")
    if args.compare:
        with h5py.File(path, "r") as file:
            X = file["X"][()]
        net = model()
        start = time.perf_counter()
        net.fit(X, y, epochs=args.epochs, **options)
        rate_memory = args.rows * args.epochs / (time.perf_counter() - start)
        results["memory_samples_per_s"] = rate_memory
        print(f"in memory: {rate_memory:,.0f} samples/s; streamed / in memory: "
              f"{rate / rate_memory:.2f}")
    return results


if __name__ == "__main__":
    run(main)
