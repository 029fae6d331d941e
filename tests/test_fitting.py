"""A fit as an object: started, trained in chunks, its weights written back; metrics."""

import numpy as np
import pytest
from helpers import small_model

import fastnn
from fastnn import fitting, losses, objectives, plans, shuffling
from fastnn.network import Net


def _fit(dual, net=None, validation=None):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 30)), (np.arange(12) % 2).reshape(-1, 1).astype(float)
    net = net or small_model((30, 4, 1), ("tanh", "sigmoid"), seed=1)
    optimizer = fastnn.SGD(0.3, momentum=0.9)
    plan = plans.Plan("numpy", dual, "layers", "test")
    weights = net.get_weights()
    flat = np.concatenate([w.ravel() for w in weights])
    description = Net(np.array([30, 4, 1]), np.array([2, 1]), np.array([1, 1]), 0)
    objective = objectives.objective(losses.BCE, 0.1, objectives.NO_WEIGHTS)
    settings = fitting.Settings(X, y, objective, optimizer, epochs=3, batch=4,
                                validation=validation)
    return fitting.Fit(plan, flat, description, settings, shuffling.Shuffle(2)), X, y


def test_the_primal_fit_trains_the_weights_in_place():
    fit, X, y = _fit(False)
    before = fit.params.copy()
    fit.start()
    assert fit.flat is fit.params
    out = np.zeros((3, 2))
    assert fit.train(3, out, lambda: False) == 3
    assert not np.array_equal(before, fit.params) and (out[:, 0] > 0).all()


def test_the_dual_fit_writes_the_same_weights_back_whenever_asked():
    results = []
    for dual in (False, True):
        fit, _, _ = _fit(dual)
        fit.start()
        fit.at_rate(0.3)
        fit.train(2, np.zeros((2, 2)), lambda: False)
        fit.finish()
        middle = fit.params.copy()
        fit.finish()  # (as often as wanted: the same weights)
        np.testing.assert_array_equal(fit.params, middle)
        results.append(middle)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10, atol=1e-13)


def test_validation_metrics_and_metrics():
    rng = np.random.default_rng(1)
    X_val, y_val = rng.normal(size=(5, 30)), np.array([[0.0], [1], [1], [0], [1]])
    fit, _, _ = _fit(True, validation=(X_val, y_val))
    fit.start()
    got = fit.validation_metrics()
    assert set(got) == {"val_loss", "val_accuracy"}
    expected = fitting.metrics(fastnn.backends.get("numpy"), fit.params, Net(
        np.array([30, 4, 1]), np.array([2, 1]), np.array([1, 1]), 0), losses.BCE, X_val, y_val)
    assert got["val_loss"] == pytest.approx(expected["loss"], rel=1e-10)
    assert got["val_accuracy"] == expected["accuracy"]
