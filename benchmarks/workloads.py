"""The benchmark workloads, one table for the suite and the report.

Each workload builds, for a backend and a dtype, a callable that runs one unit of work with the
backend's kernels, the FLOPs of that unit, and the number of samples it covers. The loop backend
runs the cat workloads on ``LOOP_SAMPLES`` samples only; the report scales its time per sample.
"""

import os

import numpy as np

from fastnn import backends, datasets
from fastnn.activations import ACTIVATIONS
from fastnn.backends._layout import layer_views
from fastnn.backends._ops import OPT_SGD
from fastnn.initializers import initial_weights
from fastnn.losses import LOSSES

CAT_SIZES = (12288, 20, 7, 5, 1)
CAT_ACTS = ("relu", "relu", "relu", "sigmoid")
PLANAR_SIZES = (2, 4, 1)
PLANAR_ACTS = ("tanh", "sigmoid")
LOOP_SAMPLES = int(os.environ.get("FASTNN_BENCH_LOOP_SAMPLES", "2"))
_cache: dict = {}


def cat_data(dtype):
    """The 209 cat training images (real files if found, else random pixels of the same shape)."""
    key = ("cat", dtype)
    if key not in _cache:
        try:
            (X, y), _, _ = datasets.load_cat(dtype=dtype, download=False)
            source = "cat files"
        except (FileNotFoundError, ValueError):
            rng = np.random.default_rng(0)
            X = (rng.integers(0, 256, (209, 12288)) / 255).astype(dtype)
            y = rng.integers(0, 2, 209)
            source = "random stand-in (cat files not found)"
        _cache[key] = (np.ascontiguousarray(X), y.reshape(-1, 1).astype(dtype), source)
    return _cache[key]


def network(sizes, acts):
    return (np.array(sizes, dtype=np.int64),
            np.array([ACTIVATIONS[a] for a in acts], dtype=np.int64),
            np.ones(len(acts), dtype=np.int64))


def dense_flops(sizes, m, backward=True):
    """2 m n_in n_out per product: forward, dW, and dX for all but the first layer."""
    forward = sum(2 * m * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if not backward:
        return forward
    input_grads = sum(2 * m * a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return 2 * forward + input_grads


def _samples(name, m):
    return min(m, LOOP_SAMPLES) if name == "loop" else m


def dense_forward(name, dtype):
    """The first cat layer's forward pass on X as fit lays it out (``prepare_inputs``)."""
    X, _, source = cat_data(dtype)
    m = _samples(name, X.shape[0])
    kernels = backends.get(name)
    X = kernels.prepare_inputs(np.ascontiguousarray(X[:m]))
    W, b = layer_views(initial_weights("lecun", CAT_SIZES[:2], 1, dtype), CAT_SIZES[:2])[0]
    relu = ACTIVATIONS["relu"]
    return (lambda: kernels.dense_forward(X, W, b, relu)), 2 * m * 12288 * 20, m, source


def dense_backward(name, dtype):
    """The first cat layer's weight gradient (dW, db) on X as fit lays it out."""
    X, _, source = cat_data(dtype)
    m = _samples(name, X.shape[0])
    kernels = backends.get(name)
    X = kernels.prepare_inputs(np.ascontiguousarray(X[:m]))
    W = np.ascontiguousarray(np.random.default_rng(1).normal(size=(12288, 20)).astype(dtype))
    dZ = np.random.default_rng(2).normal(size=(m, 20)).astype(dtype)
    return (lambda: kernels.dense_backward(dZ, X, W, False)), 2 * m * 12288 * 20, m, source


def _training(name, dtype, X, Y, sizes, acts, batch_size, lr, shuffle_seed=None):
    kernels = backends.get(name)
    flat = initial_weights("lecun", sizes, 1, dtype)
    net = network(sizes, acts)
    opt = (OPT_SGD, np.array([lr, 0.0, 0.0, 0.0, 0.0]), np.zeros_like(flat), np.zeros_like(flat),
           np.zeros(1, dtype=np.int64))
    n = X.shape[0]
    order = (np.arange(n) if shuffle_seed is None
             else np.random.RandomState(shuffle_seed).permutation(n))
    bce = LOSSES["bce"]
    inputs = kernels.prepare_inputs(X)  # once, as fit does
    return lambda: kernels.train_epoch(flat, net, bce, inputs, Y, order, batch_size, opt)


def cat_step(name, dtype):
    """One full-batch gradient-descent step of the deep cat model."""
    X, Y, source = cat_data(dtype)
    m = _samples(name, X.shape[0])
    run = _training(name, dtype, X[:m], Y[:m], CAT_SIZES, CAT_ACTS, m, 0.0075)
    return run, dense_flops(CAT_SIZES, m), m, source


def cat_epoch_minibatch(name, dtype):
    """One epoch of mini-batch (64) SGD over the 209 images, shuffled."""
    X, Y, source = cat_data(dtype)
    m = _samples(name, X.shape[0])
    run = _training(name, dtype, X[:m], Y[:m], CAT_SIZES, CAT_ACTS, 64, 0.0075, shuffle_seed=0)
    return run, dense_flops(CAT_SIZES, m), m, source


def planar_epoch_per_sample(name, dtype):
    """One epoch of per-sample SGD of the 2-4-1 tanh/sigmoid net on the 400 planar points."""
    X, y = datasets.make_planar(400, seed=1)
    X, Y = X.astype(dtype), y.reshape(-1, 1).astype(dtype)
    run = _training(name, dtype, X, Y, PLANAR_SIZES, PLANAR_ACTS, 1, 0.01, shuffle_seed=0)
    return run, dense_flops(PLANAR_SIZES, 400), 400, "make_planar(400, seed=1)"


WORKLOADS = {
    "dense_forward": dense_forward,
    "dense_backward": dense_backward,
    "cat_step": cat_step,
    "cat_epoch_minibatch64": cat_epoch_minibatch,
    "planar_epoch_per_sample": planar_epoch_per_sample,
}
# Samples in the full workload, for scaling the loop backend's per-sample time.
FULL_SAMPLES = {"dense_forward": 209, "dense_backward": 209, "cat_step": 209,
                "cat_epoch_minibatch64": 209, "planar_epoch_per_sample": 400}
