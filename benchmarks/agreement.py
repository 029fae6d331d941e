"""How closely the backends agree, as numbers: ``python benchmarks/agreement.py``.

The tests assert tolerances; this prints the differences actually reached: every activation's
forward pass against the loop backend, and the weights after six epochs of shuffled mini-batch
Adam on a 3-5-4-3 network.
"""

import numpy as np

import fastnn
from fastnn import backends
from fastnn.activations import ACTIVATIONS


def largest_relative(got, expected, floor=1e-300) -> float:
    got, expected = np.asarray(got, float), np.asarray(expected, float)
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), floor)))


def main() -> None:
    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        X = rng.normal(size=(7, 5)).astype(dtype)
        W = rng.normal(size=(5, 6)).astype(dtype)
        b = rng.normal(size=6).astype(dtype)
        forward = max(
            largest_relative(backends.get(name).dense_forward(X, W, b, act)[1],
                             backends.get("loop").dense_forward(X, W, b, act)[1])
            for act in ACTIVATIONS.values() for name in ("numpy", "numba"))
        X_train, y_train = rng.normal(size=(10, 3)), rng.integers(0, 3, 10)
        weights = {}
        for name in backends.NAMES:
            model = fastnn.Sequential(
                [fastnn.Dense(5, activation="tanh"), fastnn.Dense(4, activation="relu"),
                 fastnn.Dense(3, activation="softmax")], input_dim=3, seed=5, dtype=dtype)
            model.fit(X_train, y_train, loss="cce", optimizer=fastnn.Adam(0.01), epochs=6,
                      batch_size=4, seed=7, backend=name)
            weights[name] = model.get_weights()
        trained = max(largest_relative(got, expected, floor=1e-3)
                      for name in ("numpy", "numba")
                      for got, expected in zip(weights[name], weights["loop"]))
        print(f"{dtype}: forward ops, largest relative difference to loop {forward:.1e}; "
              f"weights after 6 Adam epochs {trained:.1e}")


if __name__ == "__main__":
    main()
