"""The options of what a fit minimizes and how it steps: sample and class weights, the L2 penalty
(alpha), Nesterov's momentum, learning-rate schedules, the poisson loss. Each is checked against
a formula written out here or central differences, across the three backends, and, where it
keeps every update of the first layer a combination of X's rows, in the dual form against the
primal fit."""

import numpy as np
import pytest
from helpers import (
    BACKENDS,
    GRADCHECK_MAX,
    assert_close,
    get,
    make_rule,
    small_model,
    targets_for,
)

import fastnn
from fastnn import activations as act_codes
from fastnn import losses as loss_codes
from fastnn.network import OPT_SGD

CODES = act_codes.ACTIVATIONS
LOSS_CODES = loss_codes.LOSSES


def problem(n=24, n_in=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in)) / np.sqrt(n_in)
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def relative_distance(expected, got) -> float:
    """The largest difference of an array over its largest entry (an exact 0 where both are 0)."""
    return max(float(np.abs(e - g).max() / max(np.abs(e).max(), 1e-300))
               for e, g in zip(expected, got))


# ---------------------------------------------------------------- the loss, weighted

@pytest.mark.parametrize("loss,activation", [("mse", "tanh"), ("sse", "linear"),
                                             ("bce", "sigmoid"), ("bce", "softmax"),
                                             ("cce", "softmax"), ("poisson", "exp")])
def test_weighted_loss_and_delta_against_their_definition_and_finite_differences(backend, loss,
                                                                                 activation):
    """sum_i w_i l_i / (s k) (sse: no division, cce: / s) and its gradient in Z."""
    rng = np.random.default_rng(3)
    kernels = get(backend)
    m, k = 5, 3
    Z = rng.normal(size=(m, k))
    Y = np.abs(rng.normal(size=(m, k))) if loss == "poisson" else targets_for(loss, rng, m, k)
    w = rng.random(m) * 3
    act, code = CODES[activation], LOSS_CODES[loss]

    def value(Z, weights, rows=slice(None)):
        Zc, A = kernels.dense_forward(Z[rows], np.eye(k), np.zeros(k), act)
        return kernels.loss_value(code, act, Zc, A, Y[rows], weights)

    each = np.array([value(Z, None, slice(i, i + 1)) for i in range(m)])  # a sample's own
    expected = np.dot(w, each) / (1.0 if loss == "sse" else w.sum())
    assert value(Z, w) == pytest.approx(expected, rel=1e-12)
    Zc, A = kernels.dense_forward(Z, np.eye(k), np.zeros(k), act)
    got = kernels.output_delta(code, act, Zc, A, Y, w)
    numeric = np.zeros_like(Z)
    for index in np.ndindex(Z.shape):
        step = np.zeros_like(Z)
        step[index] = 1e-6
        numeric[index] = (value(Z + step, w) - value(Z - step, w)) / 2e-6
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-8)


def test_integer_weights_count_as_repeated_samples(backend):
    X, y = problem(n=6, n_in=5)
    weights = np.array([1, 3, 0, 2, 1, 1])
    net = small_model((5, 3, 1), ("tanh", "sigmoid"))
    got = net.gradients(X, y, backend=backend, sample_weight=weights)
    repeated = np.repeat(np.arange(6), weights)
    expected = net.gradients(X[repeated], y[repeated], backend=backend)
    for e, g in zip(expected, got):
        assert_close(e, g, "float64")


def test_poisson_loss_is_half_the_deviance():
    """scikit-learn's: mean of y log(y / p) - y + p, with p = exp(z)."""
    Z = np.array([[0.3], [-1.2], [2.0]])
    Y = np.array([[1.0], [0.0], [6.0]])
    P = np.exp(Z)
    terms = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1) / P), 0) - Y + P
    for backend in BACKENDS:
        got = get(backend).loss_value(LOSS_CODES["poisson"], CODES["exp"], Z, P, Y)
        assert got == pytest.approx(terms.mean(), rel=1e-12)


# ---------------------------------------------------------------- the L2 penalty

@pytest.mark.parametrize("loss,output", [("mse", "linear"), ("bce", "sigmoid"),
                                         ("cce", "softmax"), ("poisson", "exp"),
                                         ("sse", "tanh")])
def test_penalty_and_weights_pass_the_gradient_check(backend, loss, output):
    rng = np.random.default_rng(5)
    k = 3 if loss == "cce" else 2
    X = rng.normal(size=(6, 4))
    y = np.abs(rng.normal(size=(6, k))) if loss == "poisson" else targets_for(loss, rng, 6, k)
    net = small_model((4, 5, k), ("relu", output), seed=2)
    difference = fastnn.check_gradients(net, X, y, loss=loss, backend=backend, epsilon=1e-6,
                                        alpha=0.7, sample_weight=rng.random(6) * 2)
    assert difference < GRADCHECK_MAX


def test_the_penalty_is_alpha_over_two_s_times_the_squared_weights(backend):
    """The objective with alpha minus the one without, against the formula; weights: s is
    their sum; biases are not penalized."""
    X, y = problem(n=5, n_in=3)
    net = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=1)
    net.set_weights([w + 1 for w in net.get_weights()])  # biases that would count if penalized
    W = net.get_weights()[0::2]
    squares = sum(float((w * w).sum()) for w in W)
    weights = np.array([1.0, 2.0, 0.5, 0.5, 1.0])
    kernels = get(backend)
    flat = net._flat
    values = []
    for alpha in (0.0, 0.3):
        objective = fastnn.objectives.objective(LOSS_CODES["bce"], alpha, weights)
        values.append(kernels.loss_and_gradients(flat, net._net(), objective, X,
                                                 y.reshape(-1, 1).astype(float),
                                                 np.empty_like(flat))[0])
    assert values[1] - values[0] == pytest.approx(0.3 / (2 * weights.sum()) * squares, rel=1e-10)


def test_l2_penalty_of_a_dual_layer_is_that_of_its_primal_weights(backend):
    """sum_j D[:, j] . K D[:, j] = ||M D||^2: the formula against the product made apart."""
    rng = np.random.default_rng(9)
    M = rng.normal(size=(7, 5))  # a basis of 5 columns in 7 inputs
    D = rng.normal(size=(5, 3))
    kernels = get(backend)
    assert kernels.l2_penalty(D, M.T @ M) == pytest.approx(float(((M @ D) ** 2).sum()),
                                                            rel=1e-12)
    assert kernels.l2_penalty(D, None) == pytest.approx(float((D * D).sum()), rel=1e-12)


def test_a_larger_alpha_gives_smaller_weights():
    X, y = problem(n=60)
    sums = []
    for alpha in (0.0, 1.0, 10.0):
        net = small_model((40, 8, 1), ("relu", "sigmoid"), init="xavier", seed=3)
        net.fit(X, y, optimizer=fastnn.SGD(0.5), epochs=50, alpha=alpha, dual=False)
        sums.append(sum(float(np.abs(w).sum()) for w in net.get_weights()[0::2]))
    assert sums[0] > sums[1] > sums[2]


# ---------------------------------------------------------------- Nesterov, schedules

def test_nesterov_step_against_its_formula(backend, dtype):
    rng = np.random.default_rng(7)
    params, grads = (rng.normal(size=12).astype(dtype) for _ in range(2))
    velocity = rng.normal(size=12).astype(dtype)
    rule = make_rule(OPT_SGD, 0.1, velocity.copy(), np.zeros(12, dtype), momentum=0.9,
                     nesterov=1)
    w, g, v = (a.astype(np.float64) for a in (params, grads, velocity))
    expected_velocity = 0.9 * v - 0.1 * g
    expected = w + 0.9 * expected_velocity - 0.1 * g
    got = params.copy()
    assert get(backend).optimizer_step(rule, got, grads) is True
    assert_close(expected, got, dtype)
    assert_close(expected_velocity, rule.state1, dtype)


def test_invscaling_runs_each_epoch_at_lr_over_samples_seen_to_the_power_t(backend):
    X, y = problem(n=20, n_in=6)
    got = small_model((6, 3, 1), ("tanh", "sigmoid"))
    optimizer = fastnn.SGD(0.4, schedule="invscaling", power_t=0.25)
    history = got.fit(X, y, optimizer=optimizer, epochs=4, batch_size=6, shuffle=False,
                      backend=backend)
    rates = [0.4 / (20 * e + 1) ** 0.25 for e in range(4)]
    assert history.history["lr"] == pytest.approx(rates)
    assert optimizer.learning_rate == pytest.approx(0.4 / 81 ** 0.25)
    expected = small_model((6, 3, 1), ("tanh", "sigmoid"))  # one fit per epoch at its rate
    for lr in rates:
        expected.fit(X, y, optimizer=fastnn.SGD(lr), epochs=1, batch_size=6, shuffle=False,
                     backend=backend)
    assert relative_distance(expected.get_weights(), got.get_weights()) < 1e-12


def test_adaptive_divides_the_rate_by_5_when_patience_runs_out_then_stops_at_min_lr():
    X, y = problem(n=10)
    net = small_model((40, 3, 1), ("tanh", "sigmoid"))
    optimizer = fastnn.SGD(0.1, schedule="adaptive", min_lr=0.1 / 5 ** 2)
    stopper = fastnn.EarlyStopping(patience=2, monitor="loss", min_delta=1e9)  # never better
    history = net.fit(X, y, optimizer=optimizer, epochs=50, early_stopping=stopper)
    # the first epoch improves on nothing; then each 2 epochs without improvement cut the
    # rate, until it is min_lr: the next 2 stop the fit
    assert history.history["lr"] == pytest.approx([0.1] * 3 + [0.02] * 2 + [0.004] * 2)
    assert optimizer.learning_rate == pytest.approx(0.004)


def test_schedules_and_nesterov_are_saved_and_resumed(tmp_path):
    X, y = problem()
    optimizer = fastnn.SGD(0.3, momentum=0.8, nesterov=True, schedule="invscaling",
                           power_t=0.3)
    expected = small_model((40, 4, 1), ("relu", "sigmoid"))
    expected.fit(X, y, optimizer=optimizer, epochs=6, batch_size=5, seed=2, alpha=0.01)
    got = small_model((40, 4, 1), ("relu", "sigmoid"))
    got.fit(X, y, optimizer=fastnn.SGD(0.3, momentum=0.8, nesterov=True, schedule="invscaling",
                                       power_t=0.3), epochs=3, batch_size=5, seed=2,
            alpha=0.01)
    got.save(tmp_path / "m.h5")
    resumed = fastnn.load_model(tmp_path / "m.h5")
    assert resumed.optimizer.nesterov and resumed.optimizer.samples == 72
    resumed.fit(X, y, epochs=3, batch_size=5, alpha=0.01)
    assert relative_distance(expected.get_weights(), resumed.get_weights()) < 1e-12


# ---------------------------------------------------------------- the backends agree

OPTIONS = {
    "alpha": {"alpha": 0.5},
    "nesterov": {"optimizer": fastnn.SGD(0.5, momentum=0.9, nesterov=True)},
    "invscaling": {"optimizer": fastnn.SGD(0.5, momentum=0.5, schedule="invscaling")},
    "sample_weight": {"sample_weight": np.linspace(0.2, 3, 24)},
    "class_weight": {"class_weight": "balanced"},
    "everything": {"optimizer": fastnn.SGD(0.5, momentum=0.9, nesterov=True,
                                           schedule="invscaling", power_t=0.3),
                   "alpha": 0.2, "sample_weight": np.linspace(0.2, 3, 24),
                   "class_weight": {0: 2.0}},
}


def _options(name):
    options = dict(OPTIONS[name])
    if "optimizer" in options:  # (a fresh optimizer per fit: it holds the fit's state)
        optimizer = options["optimizer"]
        options["optimizer"] = type(optimizer)(**optimizer.get_config())
    else:
        options["optimizer"] = fastnn.SGD(0.5, momentum=0.5)
    return options


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_every_option_agrees_across_backends(name):
    X, y = problem(n=24, n_in=10)
    weights = []
    for backend in BACKENDS:
        net = small_model((10, 5, 1), ("tanh", "sigmoid"), init="lecun", seed=1)
        net.fit(X, y, epochs=4, batch_size=5, seed=3, backend=backend, dual=False,
                **_options(name))
        weights.append(net.get_weights())
    for other in weights[1:]:
        assert relative_distance(weights[0], other) < 1e-10


@pytest.mark.parametrize("name", sorted(OPTIONS))
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_every_option_keeps_the_dual_form_exact(backend, name):
    """float64: the dual fit's weights and loss history equal the primal fit's to 1e-10."""
    X, y = problem(n=24, n_in=120)
    results = []
    for dual in (False, True):
        net = small_model((120, 6, 4, 1), ("relu", "tanh", "sigmoid"), init="lecun", seed=1)
        history = net.fit(X, y, epochs=6, batch_size=5, seed=3, backend=backend, dual=dual,
                          **_options(name))
        assert history.params["dual"] is dual
        results.append((net.get_weights(), history.history["loss"], net.optimizer.state1))
    (primal, primal_loss, primal_state), (dual, dual_loss, dual_state) = results
    assert relative_distance(primal, dual) < 1e-10
    np.testing.assert_allclose(dual_loss, primal_loss, rtol=1e-10)
    np.testing.assert_allclose(dual_state, primal_state, rtol=1e-8, atol=1e-12)


def test_the_dual_form_stays_exact_with_the_penalty_and_a_starting_velocity():
    """A second fit starts from a velocity (the v0 block moves) with alpha and Nesterov."""
    X, y = problem(n=20, n_in=100)
    results = []
    for dual in (False, True):
        net = small_model((100, 5, 1), ("tanh", "sigmoid"), init="lecun", seed=1)
        net.fit(X, y, optimizer=fastnn.SGD(0.3, momentum=0.9, nesterov=True), epochs=3,
                dual=False, shuffle=False, alpha=0.5)
        net.fit(X, y, epochs=5, dual=dual, shuffle=False, alpha=0.5, batch_size=7)
        results.append((net.get_weights(), net.history.history["loss"]))
    assert relative_distance(results[0][0], results[1][0]) < 1e-10
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-10)


def test_adaptive_with_early_stopping_in_the_dual_form():
    X, y = problem(n=20, n_in=100)
    results = []
    for dual in (False, True):
        net = small_model((100, 5, 1), ("tanh", "sigmoid"), init="lecun", seed=1)
        history = net.fit(X, y, optimizer=fastnn.SGD(0.5, schedule="adaptive"), epochs=30,
                          dual=dual, alpha=0.1,
                          early_stopping=fastnn.EarlyStopping(patience=2, min_delta=0.05,
                                                              restore_best_weights=False))
        results.append((net.get_weights(), history.history["lr"]))
    assert results[0][1] == results[1][1] and len(set(results[0][1])) > 1
    assert relative_distance(results[0][0], results[1][0]) < 1e-10


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("options,error,message", [
    ({"sample_weight": np.ones(3)}, ValueError, r"sample_weight: expected shape \(24,\)"),
    ({"sample_weight": -np.ones(24)}, ValueError, "sample_weight: weights must be >= 0"),
    ({"sample_weight": np.r_[np.nan, np.ones(23)]}, ValueError, "sample_weight: contains 1 NaN"),
    ({"sample_weight": np.zeros(24)}, ValueError, "sample_weight: the weights are all zero"),
    ({"class_weight": {5: 1.0}}, ValueError, "class_weight: unknown class 5"),
    ({"class_weight": "even"}, ValueError, "class_weight: expected 'balanced'"),
    ({"class_weight": {0: -1.0}}, ValueError, r"class_weight\[0\]: must be a finite number"),
    ({"class_weight": "balanced", "loss": "mse"}, ValueError,
     "class_weight: needs one class per sample"),
    ({"alpha": -1.0}, ValueError, "alpha: must be a finite number >= 0"),
    ({"alpha": "big"}, TypeError, "alpha: expected a number"),
])
def test_bad_weights_and_penalties_are_named_before_training(options, error, message):
    X, y = problem()
    net = small_model((40, 3, 1), ("tanh", "sigmoid"))
    before = net.get_weights()
    with pytest.raises(error, match=message):
        net.fit(X, y, epochs=2, **options)
    assert relative_distance(before, net.get_weights()) == 0 and not net.history.epoch


def test_bad_optimizer_settings_are_named():
    with pytest.raises(ValueError, match="schedule: unknown name 'cosine'"):
        fastnn.SGD(0.1, schedule="cosine")
    with pytest.raises(TypeError, match="nesterov: expected True or False"):
        fastnn.SGD(0.1, nesterov="yes")
    with pytest.raises(ValueError, match="power_t: must be a finite number >= 0"):
        fastnn.Adam(schedule="invscaling", power_t=-1)


def test_poisson_needs_an_exp_output_and_counts():
    X, _ = problem(n=8)
    net = small_model((40, 3, 1), ("tanh", "exp"))
    with pytest.raises(ValueError, match="y: targets for 'poisson' must be >= 0"):
        net.fit(X, -np.ones(8), loss="poisson")
    linear = small_model((40, 3, 1), ("tanh", "linear"))
    with pytest.raises(ValueError, match="loss: 'poisson' needs a positive rate.*'exp'"):
        linear.fit(X, np.ones(8), loss="poisson")
    history = net.fit(X, np.arange(8) % 3, optimizer=fastnn.SGD(0.05), epochs=3)
    assert net.loss == "poisson" and np.isfinite(history.history["loss"]).all()
