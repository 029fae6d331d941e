"""Weight initializers. One NumPy RNG draws every weight, so each backend starts from the same ones.

Each W (n_in, n_out) is drawn as ``rng.standard_normal((n_out, n_in)).T`` times a scale (or, for
``glorot_uniform``, ``rng.uniform`` in the same order), layer after layer, with
``numpy.random.RandomState(seed)``: the order of the Coursera notebooks
(``np.random.seed(1); np.random.randn(n_out, n_in) / np.sqrt(n_in)``), so ``init="lecun", seed=1``
starts from their weights. Biases start at zero.
"""

import math

import numpy as np

from .network import layer_views, param_count


def _zeros(n_in, n_out, rng):
    return np.zeros((n_in, n_out))


def _ones(n_in, n_out, rng):
    return np.ones((n_in, n_out))


def _normal(n_in, n_out, rng):
    return rng.standard_normal((n_out, n_in)).T


def _small(n_in, n_out, rng):
    return _normal(n_in, n_out, rng) * 0.01


def _lecun(n_in, n_out, rng):
    return _normal(n_in, n_out, rng) / math.sqrt(n_in)


def _xavier(n_in, n_out, rng):
    return _normal(n_in, n_out, rng) * math.sqrt(2 / (n_in + n_out))


def _he(n_in, n_out, rng):
    return _normal(n_in, n_out, rng) * math.sqrt(2 / n_in)


def _glorot_uniform(n_in, n_out, rng):
    """Uniform in +-sqrt(6 / (n_in + n_out)): Keras' default (scikit-learn's MLP draws the
    same law, in its own order: ``fastnn.estimators`` draws its starting weights itself)."""
    bound = math.sqrt(6 / (n_in + n_out))
    return rng.uniform(-bound, bound, (n_out, n_in)).T


INITIALIZERS = {
    "zeros": _zeros,
    "ones": _ones,
    "normal": _normal,
    "small": _small,
    "lecun": _lecun,
    "xavier": _xavier,
    "he": _he,
    "glorot_uniform": _glorot_uniform,
}

ALIASES = {"glorot": "xavier", "glorot_normal": "xavier", "he_normal": "he",
           "lecun_normal": "lecun", "xavier_uniform": "glorot_uniform"}


def initial_weights(init: str, sizes, seed, dtype: str) -> np.ndarray:
    """The flat parameter vector of a network with widths ``sizes``, drawn with ``init``."""
    rng = np.random.RandomState(seed)
    flat = np.zeros(param_count(sizes), dtype=dtype)
    for (W, _), n_in, n_out in zip(layer_views(flat, sizes), sizes[:-1], sizes[1:]):
        W[...] = INITIALIZERS[init](int(n_in), int(n_out), rng)
    return flat
