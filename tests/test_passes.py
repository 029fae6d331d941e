"""Whole-network passes of every backend: gradients against finite differences and across
backends, training and inference agreeing, the numba engine against the loop reference."""

import numpy as np
import pytest
from helpers import (
    ADAM_TRAINED_ATOL,
    BACKENDS,
    GRADCHECK_MAX,
    TRAINED_ATOL,
    TRAINED_RTOL,
    small_model,
    targets_for,
)

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


# Networks whose products take the numba engine's different paths: compiled loops (tiny, below
# BLAS_MIN_WORK), BLAS, and the skinny first layer whose weight gradient is made transposed.
NETWORKS = [
    ((5, 6, 3), ("tanh", "sigmoid"), "bce"),  # every product tiny: loops
    ((300, 20, 4, 3), ("relu", "tanh", "softmax"), "cce"),  # a skinny wide first layer
    ((100, 70, 60, 2), ("leaky_relu", "tanh", "linear"), "mse"),  # BLAS, 70 outputs
    ((2100, 3), ("linear",), "sse"),  # one wide layer
]


@pytest.mark.parametrize("batch_size", [1, 4, None])
@pytest.mark.parametrize("sizes,acts,loss", NETWORKS)
def test_the_numba_engine_agrees_with_loop(sizes, acts, loss, batch_size):
    """Gradients, outputs and three epochs of shuffled batches (Adam) of the compiled engine,
    against the loop backend."""
    rng = np.random.default_rng(15)
    X = rng.normal(size=(11, sizes[0]))
    y = targets_for(loss, rng, 11, sizes[-1])
    expected = small_model(sizes, acts, seed=7, use_bias=loss != "sse")
    got = small_model(sizes, acts, seed=7, use_bias=loss != "sse")
    for e, g in zip(expected.gradients(X, y, loss=loss, backend="loop"),
                    got.gradients(X, y, loss=loss, backend="numba")):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.predict(X, backend="numba"), expected.predict(X, backend="loop"),
                               rtol=1e-12)
    options = dict(loss=loss, epochs=3, batch_size=batch_size, shuffle=True, seed=2)
    loss_expected = expected.fit(X, y, optimizer=fastnn.Adam(0.01), backend="loop",
                                 **options).history["loss"]
    history = got.fit(X, y, optimizer=fastnn.Adam(0.01), backend="numba", **options)
    assert history.params["engine"] == "compiled"
    for e, g in zip(expected.get_weights(), got.get_weights()):
        np.testing.assert_allclose(g, e, rtol=TRAINED_RTOL["float64"],
                                   atol=ADAM_TRAINED_ATOL["float64"])
    np.testing.assert_allclose(history.history["loss"], loss_expected, rtol=TRAINED_RTOL["float64"])


def _wide_problem(m=30):
    rng = np.random.default_rng(16)
    return rng.normal(size=(m, 2100)), rng.integers(0, 2, (m, 1)).astype(float)


WIDE_NETS = [((2100, 6, 3, 1), ("relu", "tanh", "sigmoid")), ((2100, 1), ("sigmoid",)),
             ((2100, 70, 60, 1), ("relu", "tanh", "sigmoid"))]


@pytest.mark.parametrize("batch_size", [None, 8])
@pytest.mark.parametrize("sizes,acts", WIDE_NETS)
def test_numba_wide_networks_agree_with_numpy(sizes, acts, batch_size):
    """Wide first layers (BLAS, the skinny transposed gradient), full batch and mini-batches,
    Adam."""
    X, Y = _wide_problem()
    weights = {}
    for name in ("numpy", "numba"):
        model = small_model(sizes, acts, seed=8, init="lecun")
        model.fit(X, Y, loss="bce", optimizer=fastnn.Adam(0.01), epochs=3,
                  batch_size=batch_size, shuffle=True, seed=4, backend=name)
        weights[name] = model.get_weights()
    for e, g in zip(weights["numpy"], weights["numba"]):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 8])
@pytest.mark.parametrize("loss,acts", [("cce", ("tanh", "softmax")), ("mse", ("relu", "linear"))])
def test_numba_wide_networks_agree_with_numpy_on_other_losses(batch_size, loss, acts):
    X, _ = _wide_problem()
    rng = np.random.default_rng(17)
    y = rng.integers(0, 3, 30) if loss == "cce" else rng.normal(size=(30, 3))
    results = {}
    for name in ("numpy", "numba"):
        model = small_model((2100, 6, 3), acts, seed=9, init="lecun")
        opt = fastnn.SGD(0.05 if loss == "cce" else 0.002, momentum=0.9)
        history = model.fit(X, y, loss=loss, optimizer=opt, epochs=4, batch_size=batch_size,
                            shuffle=True, seed=1, backend=name, dual=False)
        results[name] = model.get_weights(), history.history["loss"]
    for e, g in zip(results["numpy"][0], results["numba"][0]):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results["numba"][1], results["numpy"][1], rtol=1e-9)


ALLOWED_PAIRS = [(loss, act) for loss in ("mse", "sse", "bce", "cce")
                 for act in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
                 if fastnn.activations.ACTIVATIONS[act] in fastnn.losses.OUTPUTS.get(
                     fastnn.losses.LOSSES[loss], fastnn.activations.ACTIVATIONS.values())]


@pytest.mark.parametrize("loss,activation", ALLOWED_PAIRS)
def test_gradients_are_the_loss_derivative_at_saturated_outputs(backend, loss, activation):
    """For every (loss, output activation) pair that fit accepts, backpropagation agrees with
    central differences of the loss as computed, with half the samples pushed far into
    saturation (logits of tens): agreement between backends proves nothing about the math.
    (Steps of 1e-5: a saturated bce computes log(1 - A) from A = 1 - 1e-6, whose rounding
    would swamp differences taken with the course's 1e-7.)"""
    rng = np.random.default_rng(20)
    model = small_model((3, 5, 3), ("tanh", activation), seed=5)
    W1, b1, W2, b2 = model.get_weights()
    model.set_weights([W1, b1, W2 * 12, b2])
    X = rng.normal(size=(8, 3))
    X[4:] *= 30  # saturates the hidden tanh units: the output's logits reach tens
    y = targets_for(loss, rng, 8, 3)
    A = model.predict(X, backend="numpy")
    if activation in ("sigmoid", "softmax"):  # some outputs lie beyond bce's clipping
        eps = fastnn.losses.LOG_EPS
        assert ((A < eps) | (A > 1 - eps)).any()
    assert fastnn.check_gradients(model, X, y, loss=loss, backend=backend,
                                  epsilon=1e-5) < GRADCHECK_MAX
