"""The initializers: seeded, scaled as written, the Coursera notebooks' draws, biases at zero."""

import numpy as np
import pytest
from helpers import small_model

from fastnn import initializers


@pytest.mark.parametrize("init", ["zeros", "ones", "normal", "small", "lecun", "xavier", "he",
                                  "glorot_uniform"])
def test_initializers_are_seeded_and_scaled(init):
    a = small_model((300, 200, 1), ("relu", "sigmoid"), init=init, seed=3)
    b = small_model((300, 200, 1), ("relu", "sigmoid"), init=init, seed=3)
    W = a.get_weights()[0]
    np.testing.assert_array_equal(W, b.get_weights()[0])
    assert not a.get_weights()[1].any()  # biases start at zero
    expected_std = {"zeros": 0, "ones": 0, "normal": 1, "small": 0.01, "lecun": 300 ** -0.5,
                    "xavier": (2 / 500) ** 0.5, "he": (2 / 300) ** 0.5,
                    "glorot_uniform": (6 / 500) ** 0.5 / 3 ** 0.5}[init]
    assert W.std() == pytest.approx(expected_std, rel=0.02, abs=1e-12)


def test_lecun_seed_one_matches_the_coursera_initialization():
    """np.random.seed(1); W1 = randn(n_out, n_in) / sqrt(n_in), in samples-as-rows layout."""
    net = small_model((6, 4, 1), ("relu", "sigmoid"), init="lecun", seed=1)
    rng = np.random.RandomState(1)
    W1 = rng.randn(4, 6) / np.sqrt(6)
    W2 = rng.randn(1, 4) / np.sqrt(4)
    np.testing.assert_array_equal(net.get_weights()[0], W1.T)
    np.testing.assert_array_equal(net.get_weights()[2], W2.T)


def test_glorot_uniform_stays_within_its_bound_and_the_draw_order_is_the_notebooks():
    W = initializers.initial_weights("glorot_uniform", (30, 10), 0, "float64")[:300]
    assert np.abs(W).max() <= (6 / 40) ** 0.5
    rng = np.random.RandomState(0)
    expected = rng.uniform(-(6 / 40) ** 0.5, (6 / 40) ** 0.5, (10, 30)).T
    np.testing.assert_array_equal(W.reshape(30, 10), expected)


def test_float32_weights_are_the_float64_draws_rounded():
    W64 = initializers.initial_weights("he", (20, 5, 1), 4, "float64")
    W32 = initializers.initial_weights("he", (20, 5, 1), 4, "float32")
    assert W32.dtype == np.float32
    np.testing.assert_array_equal(W32, W64.astype(np.float32))
