"""What the tests share: the named tolerances of the cross-backend and gradient checks, small
models and targets, and where the real cat files are."""

import os
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import backends, datasets

BACKENDS = backends.NAMES
FAST_BACKENDS = ("numpy", "numba")
ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
LOSSES = ("mse", "sse", "bce", "cce")
DTYPES = ("float64", "float32")

# Agreement between backends on one op (relative, with an absolute floor for values near 0).
FORWARD_RTOL = {"float64": 1e-10, "float32": 1e-4}
FORWARD_ATOL = {"float64": 1e-12, "float32": 1e-5}
# Agreement of trained weights after several epochs.
TRAINED_RTOL = {"float64": 1e-8, "float32": 1e-4}
TRAINED_ATOL = {"float64": 1e-10, "float32": 1e-4}
# Adam divides each step by sqrt(v) + eps: where a gradient stays near 0 that is near eps, and
# a rounding difference of the gradient (BLAS against loops) moves the weight by a share of a
# whole step. Weights trained per sample with Adam agree to this, absolutely.
ADAM_TRAINED_ATOL = {"float64": 1e-9, "float32": 1e-4}
# Backpropagation against central differences (float64): the Coursera relative difference.
GRADCHECK_MAX = 1e-6
FD_RTOL = 1e-6
FD_ATOL = 1e-8


def make_rule(code, lr, state1, state2, step=0, **fields):
    """A ``network.Rule`` with the given state, its other hyperparameters 0 unless given."""
    from fastnn.network import Rule

    values = {"momentum": 0.0, "beta1": 0.0, "beta2": 0.0, "eps": 0.0,
              "state3": np.empty(0, state1.dtype), "nesterov": 0, "rho": 0.0, "centered": 0,
              "weight_decay": 0.0, **fields}
    return Rule(code, lr, values["momentum"], values["beta1"], values["beta2"], values["eps"],
                state1, state2, values["state3"], np.array([step], np.int64), np.ones(1),
                values["nesterov"], values["rho"], values["centered"], values["weight_decay"])


def get(name):
    return backends.get(name)


def assert_close(expected, got, dtype, rtol=None, atol=None):
    rtol = FORWARD_RTOL[dtype] if rtol is None else rtol
    atol = FORWARD_ATOL[dtype] if atol is None else atol
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def small_model(sizes, activations, dtype="float64", init="normal", seed=0, use_bias=True):
    layers = [fastnn.Dense(units, activation=act, use_bias=use_bias)
              for units, act in zip(sizes[1:], activations)]
    return fastnn.Sequential(layers, input_dim=sizes[0], init=init, seed=seed, dtype=dtype)


def targets_for(loss, rng, m, k):
    """Valid targets for ``loss``: one-hot for cce, 0/1 for bce, reals otherwise."""
    if loss == "cce":
        return np.eye(k)[rng.integers(0, k, m)]
    if loss == "bce":
        return rng.integers(0, 2, (m, k)).astype(float)
    return rng.normal(size=(m, k))


def real_data_folder():
    """The folder of the real cat files: $FASTNN_DATA (conftest points it at the team's data
    folder beside a checkout, if there is one), or None."""
    folder = os.environ.get("FASTNN_DATA")
    if folder and all((Path(folder) / name).is_file() for name in datasets.CAT_FILES):
        return Path(folder)
    return None


needs_cat_files = pytest.mark.skipif(real_data_folder() is None,
                                     reason="set FASTNN_DATA to the folder of the cat files")


def real_football_folder():
    """$FASTNN_DATA if it holds the course's football.mat, else None."""
    folder = os.environ.get("FASTNN_DATA")
    if folder and (Path(folder) / datasets.FOOTBALL_FILE).is_file():
        return Path(folder)
    return None


needs_football = pytest.mark.skipif(real_football_folder() is None,
                                    reason="set FASTNN_DATA to the folder of football.mat")


def count_train_calls(monkeypatch) -> list:
    """Patch ``Fit.train`` to record each call's epoch count; returns the list it appends to."""
    calls = []
    real = fastnn.fitting.Fit.train

    def counted(fit, count, out, interrupted):
        calls.append(count)
        return real(fit, count, out, interrupted)

    monkeypatch.setattr(fastnn.fitting.Fit, "train", counted)
    return calls
