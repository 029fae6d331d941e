"""Dropout: its masks (a counter-based generator, the same bits in every backend), the layer in
training and inference, across backends, resumed, in the dual form, and its errors."""

import numpy as np
import pytest
from helpers import BACKENDS, get

import fastnn
from fastnn import dropout

MASK64 = (1 << 64) - 1


def _splitmix64(state: int) -> tuple:
    """SplitMix64 (Steele, Lea & Flood; Vigna's splitmix64.c), written apart in Python ints:
    (the next state, its output)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def _kept_apart(key, step, layer, position, units, rate) -> list:
    """Which units dropout keeps, from the definition in fastnn.dropout's docstring."""
    def mixed(z):
        return _splitmix64((z - 0x9E3779B97F4A7C15) & MASK64)[1]  # mix(z) = output at state z

    stream = mixed(key)
    for counter in (step, layer, position):
        stream = mixed((stream + counter * 0x9E3779B97F4A7C15) & MASK64)
    kept, state = [], stream
    for _ in range(units):
        state, out = _splitmix64(state)
        kept.append((out >> 11) * 2.0**-53 >= rate)
    return kept


def test_the_generator_is_splitmix64():
    """Vigna's splitmix64 seeded 0 starts 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4."""
    with np.errstate(over="ignore"):
        first = dropout.mix(dropout.GAMMA)
        second = dropout.mix(dropout.GAMMA * np.uint64(2))
    assert (int(first), int(second)) == (0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4)
    assert _splitmix64(0)[1] == 0xE220A8397B1DCDAF


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_backend_draws_the_masks_of_the_definition(backend, dtype):
    for key, step, layer, first, rate in ((0, 0, 0, 0, 0.5), (2**62 + 5, 123456, 2, 7, 0.14),
                                          (99, 3, 1, 0, 0.9)):
        M = np.full((4, 37), np.nan, dtype)
        get(backend).dropout_scales(key, step, layer, first, rate, M)
        kept = np.array([_kept_apart(key, step, layer, first + r, 37, rate) for r in range(4)])
        scale = np.dtype(dtype).type(1.0 / (1.0 - rate))
        np.testing.assert_array_equal(M, np.where(kept, scale, 0).astype(dtype))


def test_the_kept_share_and_the_scale_over_a_million_units():
    rate, n = 0.3, 1000
    M = np.empty((n, n))
    get("numpy").dropout_scales(12345, 6, 1, 0, rate, M)
    kept = (M > 0).mean()
    sigma = np.sqrt(rate * (1 - rate) / M.size)
    assert abs(kept - (1 - rate)) < 3 * sigma
    assert set(np.unique(M)) == {0.0, 1.0 / 0.7}
    # masks of other steps, layers and positions are other draws: about rate^2 + (1-rate)^2 agree
    others = []
    for at in ((12345, 7, 1, 0), (12345, 6, 2, 0), (12345, 6, 1, 1), (12346, 6, 1, 0)):
        other = np.empty((n, n))
        get("numpy").dropout_scales(*at, rate, other)
        others.append(((other > 0) == (M > 0)).mean())
    assert np.allclose(others, rate**2 + (1 - rate) ** 2, atol=0.005)


def _model(rates=(0.2, 0.5, 0.3), dtype="float64", n_in=5):
    """5-6-4-1 with dropout on the inputs, and on each hidden layer's outputs."""
    layers = []
    for rate, dense in zip(rates, [fastnn.Dense(6, activation="tanh"),
                                   fastnn.Dense(4, activation="relu"),
                                   fastnn.Dense(1, activation="sigmoid")]):
        layers += ([fastnn.Dropout(rate)] if rate else []) + [dense]
    return fastnn.Sequential(layers, input_dim=n_in, seed=1, dtype=dtype)


def _data(n=40, n_in=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    return X, (X[:, 0] - X[:, 1] > 0).astype(int)


def _flat(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


def test_the_loss_and_gradients_of_a_dropped_network_from_its_definition():
    """One batch through 5-6-4-1 with the masks drawn by the generator, written apart in NumPy
    (forward with inverted dropout, backpropagation by hand), and finite differences."""
    X, y = _data(9)
    model = _model()
    rates = model._rates()
    net = model._net()._replace(drops=rates, masking=np.array([77, 5, 3], np.int64))
    flat = model._flat
    grads = np.empty_like(flat)
    objective = fastnn.network.Objective(2, 0.0, np.empty(0))
    Y = y.reshape(-1, 1).astype(float)
    value, _ = get("numpy").loss_and_gradients(flat, net, objective, X, Y, grads)

    W1, b1, W2, b2, W3, b3 = model.get_weights()
    M = []
    for layer, width in enumerate((5, 6, 4)):
        mask = np.array([_kept_apart(77, 5, layer, 3 + r, width, rates[layer]) for r in range(9)])
        M.append(mask / (1 - rates[layer]))
    D0 = X * M[0]
    A1 = np.tanh(D0 @ W1 + b1)
    D1 = A1 * M[1]
    Z2 = D1 @ W2 + b2
    A2 = np.maximum(Z2, 0)
    D2 = A2 * M[2]
    P = 1 / (1 + np.exp(-(D2 @ W3 + b3)))
    expected = -np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P))
    assert value == pytest.approx(expected, rel=1e-12)
    dZ3 = (P - Y) / 9
    dZ2 = (dZ3 @ W3.T) * M[2] * (Z2 > 0)
    dZ1 = (dZ2 @ W2.T) * M[1] * (1 - A1**2)
    by_hand = [D0.T @ dZ1, dZ1.sum(0), D1.T @ dZ2, dZ2.sum(0), D2.T @ dZ3, dZ3.sum(0)]
    np.testing.assert_allclose(grads, np.concatenate([g.ravel() for g in by_hand]), rtol=1e-10,
                               atol=1e-14)
    for index in range(0, flat.size, 5):  # central differences (the masks stay fixed)
        moved = []
        for sign in (1, -1):
            shifted = flat.copy()
            shifted[index] += sign * 1e-6
            moved.append(get("numpy").loss_and_gradients(shifted, net, objective, X, Y,
                                                          np.empty_like(flat))[0])
        assert grads[index] == pytest.approx((moved[0] - moved[1]) / 2e-6, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("rates", [(0.2, 0.5, 0.3), (0.0, 0.5, 0.0)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_backends_train_alike_with_dropout(rates, dtype):
    X, y = _data()
    weights = {}
    for backend in BACKENDS:
        model = _model(rates, dtype)
        model.fit(X, y, loss="bce", optimizer=fastnn.Adam(0.01), epochs=3, batch_size=7, seed=3,
                  backend=backend)
        weights[backend] = _flat(model)
    tolerance = 1e-10 if dtype == "float64" else 1e-4
    for backend in BACKENDS:
        np.testing.assert_allclose(weights[backend], weights["loop"], rtol=tolerance,
                                   atol=tolerance)
    plain = _model((0, 0, 0), dtype)
    plain.fit(X, y, loss="bce", optimizer=fastnn.Adam(0.01), epochs=3, batch_size=7, seed=3)
    assert np.abs(_flat(plain) - weights["numpy"]).max() > 1e-3  # (dropout did something)


def test_inference_and_evaluation_pass_through():
    X, y = _data()
    dropped, plain = _model(), _model((0, 0, 0))
    dropped.fit(X, y, loss="bce", epochs=2, batch_size=8)
    plain.set_weights(dropped.get_weights())
    for backend in BACKENDS:
        np.testing.assert_array_equal(dropped.predict(X, backend=backend),
                                      plain.predict(X, backend=backend))
        assert dropped.evaluate(X, y, backend=backend) == plain.evaluate(X, y, backend=backend)
    assert dropped.loss_and_gradients(X, y)[0] == plain.loss_and_gradients(X, y)[0]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_fits_of_3_and_3_epochs_with_a_save_between_equal_one_of_6(backend, tmp_path):
    X, y = _data()
    one = _model()
    one.fit(X, y, loss="bce", optimizer=fastnn.Adam(0.01), epochs=6, batch_size=6,
            backend=backend)
    two = _model()
    two.fit(X, y, loss="bce", optimizer=fastnn.Adam(0.01), epochs=3, batch_size=6,
            backend=backend)
    two.save(tmp_path / "two.h5")
    two = fastnn.load_model(tmp_path / "two.h5")
    assert [type(layer).__name__ for layer in two.layers] == \
        ["Dropout", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    two.fit(X, y, epochs=3, batch_size=6, backend=backend)
    np.testing.assert_array_equal(_flat(two), _flat(one))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_dual_form_stays_exact_with_dropout_on_hidden_layers(backend):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 60)), rng.integers(0, 2, 12)
    weights = {}
    for dual in (False, True):
        model = _model((0.0, 0.4, 0.2), n_in=60)
        history = model.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.05, momentum=0.9),
                            epochs=5, batch_size=4, seed=3, backend=backend, dual=dual,
                            alpha=0.01)
        assert history.params["dual"] is dual
        weights[dual] = _flat(model)
    np.testing.assert_allclose(weights[True], weights[False], rtol=1e-10, atol=1e-12)


def test_dropout_on_the_inputs_cannot_run_dual():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 60)), rng.integers(0, 2, 12)
    model = _model(n_in=60)
    with pytest.raises(ValueError, match="dual: dropout before the first layer drops inputs"):
        model.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.05), epochs=2, dual=True)
    history = model.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.05), epochs=2)
    assert history.params["dual"] is False
    hidden = _model((0.0, 0.4, 0.2), n_in=60)
    assert fastnn.plans.dual_applies(hidden._problem(X, 4, 500, "sgd")) is None
    assert "drops inputs" in fastnn.plans.dual_applies(model._problem(X, 4, 500, "sgd"))


def test_bad_dropout_is_named_before_any_work():
    X, y = _data()
    for rate, error in ((1.0, "rate: must be < 1"), (-0.1, "rate: must be a finite number"),
                        ("0.5", "rate: expected a number")):
        with pytest.raises((ValueError, TypeError), match=error):
            fastnn.Dropout(rate)
    with pytest.raises(ValueError, match=r"layers\[2\]: a Dropout right after another"):
        fastnn.Sequential([fastnn.Dense(3), fastnn.Dropout(0.1), fastnn.Dropout(0.2)])
    with pytest.raises(ValueError, match="a Dropout after the last Dense layer"):
        fastnn.Sequential([fastnn.Dense(3), fastnn.Dropout(0.1)], input_dim=2)
    model = _model()
    with pytest.raises(ValueError, match="optimizer: L-BFGS needs one objective"):
        model.fit(X, y, loss="bce", optimizer="lbfgs")
    import scipy.sparse

    with pytest.raises(ValueError, match="X: sparse inputs cannot be dropped"):
        model.fit(scipy.sparse.csr_matrix(X), y, loss="bce")
    assert model.history.epoch == []
    fine = _model((0.0, 0.3, 0.3))
    fine.fit(scipy.sparse.csr_matrix(X), y, loss="bce", epochs=1)  # (hidden layers: fine)


def test_the_summary_lists_dropout():
    lines = _model().summary().splitlines()
    assert lines[1].startswith("dropout_0 (0.2)") and "(None, 5)" in lines[1]
    assert lines[2].startswith("dense_1 (tanh)") and lines[-1].startswith("total parameters: 69")


def test_estimators_take_a_rate_per_hidden_layer():
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from fastnn.estimators import MLPClassifier

    X, y = _data(120)
    model = MLPClassifier((8, 4), dropout=[0.3, 0.1], max_iter=5, random_state=0).fit(X, y)
    assert repr(model.model_.layers) == repr([
        fastnn.Dense(8, activation="relu"), fastnn.Dropout(0.3), fastnn.Dense(4, activation="relu"),
        fastnn.Dropout(0.1), fastnn.Dense(1, activation="sigmoid")])
    again = MLPClassifier((8, 4), dropout=[0.3, 0.1], max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.coefs_[0], model.coefs_[0])  # (random_state: the masks)
    with pytest.raises(ValueError, match=r"dropout: expected one rate, or one per hidden layer "
                                         r"\(2\), got 3"):
        MLPClassifier((8, 4), dropout=[0.1, 0.1, 0.1]).fit(X, y)
    with pytest.raises(ValueError, match="dropout: the lbfgs solver"):
        MLPClassifier((8, 4), dropout=0.2, solver="lbfgs").fit(X, y)
