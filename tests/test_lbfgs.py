"""L-BFGS (``fastnn.LBFGS``): SciPy's L-BFGS-B over the backend's full-batch objective."""

import numpy as np
import pytest
import scipy.optimize
from helpers import BACKENDS, small_model

import fastnn


def problem(n=40, n_in=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    return X, (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)


def test_logistic_regression_reaches_the_minimum_written_apart(backend):
    """Penalized logistic regression is convex: L-BFGS through fastnn ends where SciPy ends
    on the same objective written out here in NumPy (alpha / (2 n) |w|^2, bias free)."""
    X, y = problem()
    alpha, n = 0.5, len(y)

    def objective(theta):
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        loss = np.mean(np.logaddexp(0, z) - y * z) + alpha / (2 * n) * w @ w
        p = 1 / (1 + np.exp(-z))
        return loss, np.r_[X.T @ (p - y) / n + alpha * w / n, np.mean(p - y)]

    expected = scipy.optimize.minimize(objective, np.zeros(6), jac=True, method="L-BFGS-B",
                                       options={"gtol": 1e-10}).x
    net = small_model((5, 1), ("sigmoid",), init="zeros")
    history = net.fit(X, y, optimizer=fastnn.LBFGS(tol=1e-10), epochs=200, alpha=alpha,
                      backend=backend)
    W, b = net.get_weights()
    np.testing.assert_allclose(np.r_[W.ravel(), b], expected, rtol=1e-6, atol=1e-8)
    assert history.params["lbfgs_status"] == 0 and history.params["plan"] == "L-BFGS"
    assert len(history.history["loss"]) == history.params["lbfgs_iterations"]


def test_every_iteration_is_a_row_of_the_history_with_the_weights_it_had():
    X, y = problem()

    class Recorder(fastnn.EarlyStopping):
        def update(self, epoch, metrics, flat):
            seen.append((metrics["loss"], net.loss_and_gradients(X, y)[0]))
            return super().update(epoch, metrics, flat)

    seen = []
    net = small_model((5, 4, 1), ("tanh", "sigmoid"), seed=1)
    history = net.fit(X, y, optimizer="lbfgs", epochs=15, validation_data=(X[:10], y[:10]),
                      early_stopping=Recorder(patience=100, monitor="loss"))
    assert len(seen) == len(history.history["loss"]) == len(history.history["val_loss"]) == 15
    for recorded, recomputed in seen:
        assert recorded == pytest.approx(recomputed, rel=1e-12)
    assert history.history["loss"] == sorted(history.history["loss"], reverse=True)


def test_the_backends_agree():
    X, y = problem(n=20)
    weights = []
    for backend in BACKENDS:
        net = small_model((5, 4, 1), ("tanh", "sigmoid"), seed=1)
        net.fit(X, y, optimizer=fastnn.LBFGS(), epochs=10, backend=backend, alpha=0.1,
                sample_weight=np.linspace(0.5, 1.5, 20))
        weights.append(net.get_weights())
    for other in weights[1:]:
        for e, g in zip(weights[0], other):
            np.testing.assert_allclose(g, e, rtol=1e-7, atol=1e-9)


def test_what_lbfgs_cannot_do_is_named(tmp_path):
    X, y = problem()
    net = small_model((5, 3, 1), ("tanh", "sigmoid"))
    with pytest.raises(ValueError, match="batch_size: L-BFGS trains on the full batch"):
        net.fit(X, y, optimizer="lbfgs", batch_size=10)
    with pytest.raises(ValueError, match="dual: the dual form needs SGD.*L-BFGS"):
        net.fit(X, y, optimizer="lbfgs", dual=True)
    with pytest.raises(ValueError, match="max_fun: must be > 0"):
        fastnn.LBFGS(max_fun=0)
    net.fit(X, y, optimizer=fastnn.LBFGS(tol=1e-3, max_fun=50), epochs=3)
    net.save(tmp_path / "m.h5")
    again = fastnn.load_model(tmp_path / "m.h5")
    assert again.optimizer.get_config() == {"tol": 1e-3, "max_fun": 50}
    assert len(again.history.epoch) == 3
