"""check_gradients: small for backpropagation, large for a wrong gradient, in float64 always."""

import numpy as np
import pytest
from helpers import small_model

import fastnn
from fastnn.backends import _numpy


def _problem():
    rng = np.random.default_rng(0)
    return rng.normal(size=(5, 3)), rng.integers(0, 2, 5)


def test_right_gradients_pass_for_a_float32_model_and_untrained_biases():
    X, y = _problem()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"), dtype="float32", use_bias=False)
    assert fastnn.check_gradients(net, X, y, backend="numpy") < 1e-7
    assert net.dtype == "float32"


def test_a_wrong_gradient_is_caught(monkeypatch):
    X, y = _problem()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"))
    real = _numpy.loss_and_gradients

    def half_again(flat, net, objective, X, Y, grads):  # a gradient 50 % off
        result = real(flat, net, objective, X, Y, grads)
        grads *= 1.5
        return result

    monkeypatch.setattr(_numpy, "loss_and_gradients", half_again)
    assert fastnn.check_gradients(net, X, y, backend="numpy") > 0.1


def test_its_arguments_are_checked():
    X, y = _problem()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"))
    with pytest.raises(ValueError, match="epsilon: must be a finite number > 0"):
        fastnn.check_gradients(net, X, y, epsilon=0)
    with pytest.raises(ValueError, match="alpha: must be a finite number >= 0"):
        fastnn.check_gradients(net, X, y, alpha=-1)
