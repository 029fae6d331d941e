"""Whole networks: gradients against central differences, and the backends against each other."""

import numpy as np
import pytest
from conftest import BACKENDS, GRADCHECK_MAX, TRAINED_ATOL, TRAINED_RTOL, small_model, targets_for

import fastnn

ARCHITECTURES = [
    # sizes, activations, loss
    ((3, 4, 1), ("sigmoid", "sigmoid"), "mse"),
    ((3, 5, 2), ("tanh", "sigmoid"), "bce"),
    ((4, 6, 5, 3), ("relu", "leaky_relu", "softmax"), "cce"),
    ((2, 3, 2), ("leaky_relu", "linear"), "sse"),
    ((3, 4, 3), ("tanh", "softmax"), "mse"),
]


@pytest.mark.parametrize("sizes,acts,loss", ARCHITECTURES)
def test_network_gradients_against_finite_differences(backend, sizes, acts, loss):
    rng = np.random.default_rng(10)
    model = small_model(sizes, acts, seed=3)
    X = rng.normal(size=(6, sizes[0]))
    y = targets_for(loss, rng, 6, sizes[-1])
    assert fastnn.check_gradients(model, X, y, loss=loss, backend=backend) < GRADCHECK_MAX


@pytest.mark.parametrize("sizes,acts,loss", ARCHITECTURES)
def test_network_gradients_agree_across_backends(sizes, acts, loss, dtype):
    rng = np.random.default_rng(11)
    model = small_model(sizes, acts, dtype=dtype, seed=4)
    X = rng.normal(size=(7, sizes[0]))
    y = targets_for(loss, rng, 7, sizes[-1])
    expected = model.gradients(X, y, loss=loss, backend="loop")
    for name in ("numpy", "numba"):
        for e, g in zip(expected, model.gradients(X, y, loss=loss, backend=name)):
            assert g.dtype == np.dtype(dtype)
            np.testing.assert_allclose(g, e, rtol=TRAINED_RTOL[dtype] * 100,
                                       atol=TRAINED_ATOL[dtype])


def test_no_bias_layers_keep_zero_bias_and_pass_gradcheck(backend):
    rng = np.random.default_rng(12)
    model = small_model((4, 3, 2), ("linear", "linear"), init="ones", use_bias=False)
    X = rng.normal(size=(5, 4))
    y = rng.normal(size=(5, 2))
    grads = model.gradients(X, y, loss="mse", backend=backend)
    assert not grads[1].any() and not grads[3].any()
    assert fastnn.check_gradients(model, X, y, loss="mse", backend=backend) < GRADCHECK_MAX
    model.fit(X, y, loss="mse", optimizer=fastnn.Adam(0.01), epochs=3, backend=backend)
    assert not model.get_weights()[1].any()


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("batch_size", [None, 4, 1])
def test_training_agrees_across_backends(optimizer, batch_size, dtype):
    """Several epochs of shuffled mini-batches leave the three backends with the same weights."""
    rng = np.random.default_rng(13)
    X = rng.normal(size=(10, 3))
    y = rng.integers(0, 3, 10)
    weights, histories = {}, {}
    for name in BACKENDS:
        model = small_model((3, 5, 4, 3), ("tanh", "relu", "softmax"), dtype=dtype, seed=5)
        opt = fastnn.SGD(lr=0.1, momentum=0.9) if optimizer == "momentum" else fastnn.Adam(0.01)
        history = model.fit(X, y, loss="cce", optimizer=opt, epochs=6, batch_size=batch_size,
                            shuffle=True, seed=7, backend=name)
        weights[name] = model.get_weights()
        histories[name] = history.history
    for name in ("numpy", "numba"):
        for expected, got in zip(weights["loop"], weights[name]):
            np.testing.assert_allclose(got, expected, rtol=TRAINED_RTOL[dtype],
                                       atol=TRAINED_ATOL[dtype])
        np.testing.assert_allclose(histories[name]["loss"], histories["loop"]["loss"],
                                   rtol=TRAINED_RTOL[dtype])
        assert histories[name]["accuracy"] == histories["loop"]["accuracy"]


def test_predict_evaluate_agree_across_backends(dtype):
    rng = np.random.default_rng(14)
    model = small_model((5, 4, 1), ("relu", "sigmoid"), dtype=dtype, seed=6)
    X = rng.normal(size=(9, 5))
    y = rng.integers(0, 2, 9)
    expected = model.predict(X, backend="loop")
    expected_metrics = model.evaluate(X, y, loss="bce", backend="loop")
    for name in ("numpy", "numba"):
        got = model.predict(X, backend=name)
        assert got.dtype == np.dtype(dtype) and got.shape == (9, 1)
        np.testing.assert_allclose(got, expected, rtol=TRAINED_RTOL[dtype])
        metrics = model.evaluate(X, y, loss="bce", backend=name)
        assert metrics["accuracy"] == expected_metrics["accuracy"]
        assert metrics["loss"] == pytest.approx(expected_metrics["loss"], rel=1e-6)
