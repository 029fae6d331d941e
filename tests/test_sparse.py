"""Sparse X (scipy.sparse, CSR or CSC) in fit, predict, evaluate and gradients: the same numbers
as the dense X, in every backend, in the primal and the dual form, and never made dense."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse
from helpers import BACKENDS, small_model

import fastnn


def problem(n=30, n_in=60, density=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, n_in, density=density, random_state=seed, format="csr")
    X.data = rng.normal(size=X.nnz)
    y = (X @ rng.normal(size=n_in) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparse_X_computes_what_the_dense_X_does(backend):
    X, y = problem()
    dense = X.toarray()
    results = []
    for data in (dense, X, X.tocsc(), scipy.sparse.csr_array(X)):
        net = small_model((60, 5, 1), ("tanh", "sigmoid"), seed=3)
        gradients = net.gradients(data, y, backend=backend, alpha=0.1)
        net.fit(data, y, optimizer=fastnn.SGD(0.3, momentum=0.9, nesterov=True), epochs=3,
                batch_size=7, seed=1, backend=backend, dual=False, alpha=0.05)
        results.append((gradients, net.get_weights(), net.predict(data, backend=backend),
                        net.evaluate(data, y, backend=backend)["loss"]))
    for gradients, weights, outputs, loss in results[1:]:
        for e, g in zip(results[0][0] + results[0][1], gradients + weights):
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(outputs, results[0][2], rtol=1e-10)
        assert loss == pytest.approx(results[0][3], rel=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_dual_form_of_sparse_X_is_the_primal_fit(backend):
    X, y = problem(n=20, n_in=400, density=0.05)
    weights = []
    for dual in (False, True):
        net = small_model((400, 6, 1), ("relu", "sigmoid"), init="lecun", seed=1)
        history = net.fit(X, y, optimizer=fastnn.SGD(0.5, momentum=0.9), epochs=10, seed=2,
                          batch_size=4, backend=backend, dual=dual, alpha=0.1,
                          validation_data=(X[:5], y[:5]))
        assert history.params["dual"] is dual
        weights.append(net.get_weights())
    for e, g in zip(*weights):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-13)


def test_a_wide_sparse_X_is_never_made_dense():
    """10^6 features: X dense would take 400 MB; the fit's memory stays far below."""
    rng = np.random.default_rng(0)
    n, n_in = 50, 1_000_000
    X = scipy.sparse.random(n, n_in, density=2e-5, random_state=0, format="csr")
    y = rng.integers(0, 2, n)
    net = fastnn.Sequential([fastnn.Dense(2, activation="tanh"),
                             fastnn.Dense(1, activation="sigmoid")], input_dim=n_in, seed=0)
    net.fit(X[:5], y[:5], epochs=1, batch_size=5, dual=False)  # (compiled before measuring)
    tracemalloc.start()
    net.fit(X, y, optimizer=fastnn.Adam(0.01), epochs=2, batch_size=10)
    net.predict(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 120 * 2**20  # (the weights and the optimizer's state: 3 x 16 MB)


def test_sparse_X_is_checked_on_its_nonzeros():
    X, y = problem()
    net = small_model((60, 3, 1), ("tanh", "sigmoid"))
    bad = X.copy()
    bad.data[4] = np.nan
    row, column = int(np.searchsorted(bad.indptr, 4, side="right") - 1), int(bad.indices[4])
    with pytest.raises(ValueError, match=rf"X: contains 1 NaN .* at index \({row}, {column}\)"):
        net.fit(bad, y)
    with pytest.raises(ValueError, match="X: expected 60 features per sample, got 59"):
        net.fit(X[:, :59], y)
    with pytest.raises(TypeError, match="X: expected real numbers, got a sparse matrix"):
        net.fit(X.astype(complex), y)
    big = X.copy()
    big.data[0] = 1e39
    net32 = small_model((60, 3, 1), ("tanh", "sigmoid"), dtype="float32")
    with pytest.raises(ValueError, match="beyond the range of float32"):
        net32.fit(big, y)
