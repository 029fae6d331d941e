"""Shared fixtures and the named tolerances of the cross-backend and gradient checks."""

import os
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import backends

# The cat files: $FASTNN_DATA, else the team's data folder beside a checkout (tests only: the
# library itself never looks there).
_TEAM_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if not os.environ.get("FASTNN_DATA") and (_TEAM_DATA / "train_catvnoncat.h5").is_file():
    os.environ["FASTNN_DATA"] = str(_TEAM_DATA)

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


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


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
