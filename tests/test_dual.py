"""The dual form: the same SGD trajectory as the primal fit, and everything fit does on top of it
(history, validation, early stopping, divergence, get_weights during the fit, save and resume)."""

import numpy as np
import pytest
from helpers import small_model

import fastnn

NET = (("relu", "tanh", "sigmoid"), (6, 4, 1))


def problem(n=24, n_in=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in)) / np.sqrt(n_in)
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def model(n_in=80, dtype="float64", sizes=None, acts=None):
    acts = acts or NET[0]
    sizes = sizes or NET[1]
    return small_model((n_in, *sizes), acts, dtype=dtype, init="lecun", seed=1)


def fit_both(X, y, epochs, backend, dtype="float64", momentum=0.0, **options):
    """The same fit (SGD, lr 0.5) in the primal and the dual form: (primal model, dual model)."""
    results = []
    for dual in (False, True):
        net = model(X.shape[1], dtype)
        history = net.fit(X, y, loss="bce", epochs=epochs, backend=backend, dual=dual,
                          optimizer=fastnn.SGD(0.5, momentum=momentum), **options)
        assert history.params["dual"] is dual
        results.append(net)
    return results


def relative_distance(expected, got) -> float:
    return max(float(np.abs(e - g).max() / np.abs(e).max()) for e, g in zip(expected, got))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_100_full_batch_steps_equal_the_primal_fit(backend, momentum):
    X, y = problem(n=12, n_in=30) if backend == "loop" else problem()
    primal, dual = fit_both(X, y, 100, backend, momentum=momentum, shuffle=False)
    assert relative_distance(primal.get_weights(), dual.get_weights()) < 1e-10
    np.testing.assert_allclose(dual.history.history["loss"], primal.history.history["loss"],
                               rtol=1e-10)
    assert dual.history.history["accuracy"] == primal.history.history["accuracy"]
    np.testing.assert_allclose(dual.optimizer.state1, primal.optimizer.state1, rtol=1e-8,
                               atol=1e-12)


def test_shuffled_mini_batches_with_momentum_equal_the_primal_fit(backend):
    """60 samples in batches of 7 (the last one short), momentum 0.9, 5 shuffled epochs."""
    X, y = problem(n=60, n_in=40 if backend == "loop" else 200)
    primal, dual = fit_both(X, y, 5, backend, momentum=0.9, batch_size=7, seed=3)
    assert relative_distance(primal.get_weights(), dual.get_weights()) < 1e-12


def test_per_sample_sgd_and_a_single_layer():
    X, y = problem()
    primal, dual = fit_both(X, y, 3, "auto", batch_size=1, seed=0)
    assert relative_distance(primal.get_weights(), dual.get_weights()) < 1e-12
    weights = []
    for dual in (False, True):  # logistic regression: the output layer is the first
        net = small_model((80, 1), ("sigmoid",), init="zeros")
        net.fit(X, y, optimizer=fastnn.SGD(0.5), epochs=50, dual=dual)
        weights.append(net.get_weights())
    assert relative_distance(*weights) < 1e-10


def test_a_fit_resumed_with_a_velocity_continues_exactly():
    """The second fit starts from a non-zero velocity (the X v0 block of the dual inputs)."""
    X, y = problem()
    expected = model()
    expected.fit(X, y, optimizer=fastnn.SGD(0.5, momentum=0.9), epochs=6, dual=False,
                 shuffle=False)
    got = model()
    got.fit(X, y, optimizer=fastnn.SGD(0.5, momentum=0.9), epochs=3, dual=False, shuffle=False)
    got.fit(X, y, epochs=3, dual=True, shuffle=False)
    assert got.history.params["dual"]
    assert relative_distance(expected.get_weights(), got.get_weights()) < 1e-12
    np.testing.assert_allclose(got.optimizer.state1, expected.optimizer.state1, rtol=1e-9,
                               atol=1e-14)


def test_saved_and_resumed_dual_fits_equal_one_primal_fit(tmp_path):
    X, y = problem()
    expected = model()
    expected.fit(X, y, optimizer=fastnn.SGD(0.5, momentum=0.9), epochs=6, dual=False,
                 batch_size=5, seed=4)
    got = model()
    got.fit(X, y, optimizer=fastnn.SGD(0.5, momentum=0.9), epochs=3, dual=True, batch_size=5,
            seed=4)
    got.save(tmp_path / "m.h5")
    resumed = fastnn.load_model(tmp_path / "m.h5")
    resumed.fit(X, y, epochs=3, dual=True, batch_size=5)
    assert relative_distance(expected.get_weights(), resumed.get_weights()) < 1e-12
    assert resumed.history.history["loss"] == pytest.approx(expected.history.history["loss"],
                                                            rel=1e-10)


def test_float32_is_no_further_from_float64_than_the_primal_float32_fit():
    X, y = problem(n=40, n_in=400)
    reference = fit_both(X, y, 100, "auto", momentum=0.9, shuffle=False)[0].get_weights()
    primal32, dual32 = fit_both(X.astype(np.float32), y, 100, "auto", dtype="float32",
                                momentum=0.9, shuffle=False)
    primal_error = relative_distance(reference, primal32.get_weights())
    dual_error = relative_distance(reference, dual32.get_weights())
    assert dual32.get_weights()[0].dtype == np.float32
    assert dual_error <= 2 * primal_error


def test_validation_and_early_stopping_restore_the_best_epoch(backend):
    X, y = problem(n=16, n_in=30)
    X_val, y_val = problem(n=10, n_in=30, seed=1)
    y_val = 1 - y_val  # labels against the trend: the validation loss soon rises
    results = []
    for dual in (False, True):
        net = model(30)
        stopper = fastnn.EarlyStopping(patience=3)
        history = net.fit(X, y, optimizer=fastnn.SGD(0.5, momentum=0.5), epochs=60,
                          validation_data=(X_val, y_val), early_stopping=stopper,
                          backend=backend, dual=dual)
        results.append((net.get_weights(), history.history, stopper.best_epoch))
    (primal, primal_history, best), (dual, dual_history, dual_best) = results
    assert dual_best == best and len(dual_history["val_loss"]) < 60
    np.testing.assert_allclose(dual_history["val_loss"], primal_history["val_loss"], rtol=1e-10)
    assert relative_distance(primal, dual) < 1e-10


def test_get_weights_during_a_dual_fit_gives_the_primal_weights_of_that_epoch():
    X, y = problem()

    class Recorder(fastnn.EarlyStopping):
        def update(self, epoch, metrics, flat):
            seen.append(net.get_weights())
            return super().update(epoch, metrics, flat)

    recorded = []
    for dual in (False, True):
        seen = []
        net = model()
        net.fit(X, y, optimizer=fastnn.SGD(0.5), epochs=4, dual=dual,
                early_stopping=Recorder(patience=10, monitor="loss"))
        recorded.append(seen)
    assert len(recorded[1]) == 4
    for primal, dual in zip(*recorded):
        assert relative_distance(primal, dual) < 1e-12


def test_divergence_in_the_dual_form_stops_where_the_primal_fit_does(backend):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 30)) * 100, rng.normal(size=12) * 100
    results = []
    for dual in (False, True):
        net = model(30, sizes=(8, 1), acts=("relu", "linear"))
        with pytest.raises(fastnn.TrainingDivergedError, match=r"diverged at epoch \d+ of 50"):
            net.fit(X, y, loss="sse", optimizer=fastnn.SGD(0.1), epochs=50, backend=backend,
                    dual=dual)
        assert all(np.isfinite(w).all() for w in net.get_weights())
        results.append((len(net.history.epoch), net.get_weights()))
    assert results[0][0] == results[1][0] > 0


@pytest.mark.skipif("numba" not in fastnn.available_backends(), reason="numba is not installed")
@pytest.mark.parametrize("batch_size", [1, 8, None])
def test_the_numba_dual_fit_equals_the_numpy_dual_fit(batch_size):
    X, y = problem(n=30, n_in=300)
    weights = []
    for name in ("numpy", "numba"):
        net = model(300)
        history = net.fit(X, y, optimizer=fastnn.SGD(0.5, momentum=0.9), epochs=5,
                          batch_size=batch_size, seed=1, backend=name, dual=True)
        assert history.params["dual"]
        weights.append(net.get_weights())
    assert relative_distance(*weights) < 1e-12
