"""Each kernel of each backend: against the loop reference and against central differences."""

import inspect
import warnings

import numpy as np
import pytest
from helpers import (
    ACTIVATIONS,
    BACKENDS,
    FD_ATOL,
    FD_RTOL,
    LOSSES,
    assert_close,
    get,
    make_rule,
)

from fastnn import activations as act_codes
from fastnn import losses as loss_codes
from fastnn.backends import OPS
from fastnn.network import OPT_ADAM, OPT_SGD

CODES = act_codes.ACTIVATIONS
LOSS_CODES = loss_codes.LOSSES


def test_every_backend_defines_exactly_the_contract():
    for name in BACKENDS:
        module = get(name)
        public = {n for n, f in vars(module).items()
                  if callable(f) and not n.startswith("_") and not inspect.isclass(f)
                  and getattr(f, "__module__", module.__name__) == module.__name__}
        defined = [n for n in OPS if callable(getattr(module, n, None))]
        assert defined == list(OPS), name
        extra = public - set(OPS)
        assert not extra, f"{name} has public names outside the contract: {extra}"


def _layer(rng, m=5, n_in=4, n_out=3, dtype="float64", scale=1.0):
    X = rng.normal(size=(m, n_in)).astype(dtype)
    W = (rng.normal(size=(n_in, n_out)) * scale).astype(dtype)
    b = rng.normal(size=n_out).astype(dtype)
    return X, W, b


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_dense_forward_matches_loop(name, activation, dtype):
    rng = np.random.default_rng(1)
    X, W, b = _layer(rng, dtype=dtype)
    expected = get("loop").dense_forward(X, W, b, CODES[activation])
    got = get(name).dense_forward(X, W, b, CODES[activation])
    for e, g in zip(expected, got):
        assert g.dtype == np.dtype(dtype)
        assert_close(e, g, dtype)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_extreme_logits_stay_finite(backend, activation):
    Z = np.array([[-1000.0, 0.0, 1000.0], [745.0, -745.0, 1e-300]])
    W = np.eye(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, A = get(backend).dense_forward(Z, W, np.zeros(3), CODES[activation])
    assert np.isfinite(A).all()
    if activation == "sigmoid":
        np.testing.assert_array_equal(A[0], [0.0, 0.5, 1.0])


def test_zero_rows_and_single_sample(backend):
    rng = np.random.default_rng(2)
    X, W, b = _layer(rng, m=1)
    X[0] = 0
    Z, A = get(backend).dense_forward(X, W, b, CODES["relu"])
    assert_close(b.reshape(1, -1), Z, "float64")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_backward_against_finite_differences(backend, activation):
    """dZ from activation_backward equals d/dZ of sum(A * G) by central differences."""
    rng = np.random.default_rng(3)
    kernels = get(backend)
    Z = rng.normal(size=(4, 3))
    Z[Z == 0] = 0.1
    G = rng.normal(size=(4, 3))
    identity = np.eye(3)
    act = CODES[activation]

    def objective(Z):
        return float(np.sum(kernels.dense_forward(Z, identity, np.zeros(3), act)[1] * G))

    _, A = kernels.dense_forward(Z, identity, np.zeros(3), act)
    got = kernels.activation_backward(act, Z, A, G)
    expected = _numeric_gradient(objective, Z)
    np.testing.assert_allclose(got, expected, rtol=FD_RTOL, atol=FD_ATOL)


def _numeric_gradient(objective, array, eps=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = objective(array)
        array[index] = original - eps
        minus = objective(array)
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def test_dense_backward_against_finite_differences(backend):
    """dX, dW, db from dense_backward are the gradients of sum(Z * G)."""
    rng = np.random.default_rng(4)
    kernels = get(backend)
    X, W, b = _layer(rng)
    G = rng.normal(size=(X.shape[0], W.shape[1]))
    linear = CODES["linear"]

    def objective_of(which):
        arrays = {"X": X, "W": W, "b": b}

        def objective(value):
            arrays[which] = value
            return float(np.sum(kernels.dense_forward(arrays["X"], arrays["W"], arrays["b"],
                                                      linear)[0] * G))
        return objective

    dX, dW, db = kernels.dense_backward(G, X, W, True)
    np.testing.assert_allclose(dX, _numeric_gradient(objective_of("X"), X.copy()),
                               rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(dW, _numeric_gradient(objective_of("W"), W.copy()),
                               rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(db, _numeric_gradient(objective_of("b"), b.copy()),
                               rtol=FD_RTOL, atol=FD_ATOL)
    assert kernels.dense_backward(G, X, W, False)[0] is None


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_dense_backward_matches_loop(name, dtype):
    rng = np.random.default_rng(5)
    X, W, _ = _layer(rng, m=7, n_in=6, n_out=5, dtype=dtype)
    dZ = rng.normal(size=(7, 5)).astype(dtype)
    for e, g in zip(get("loop").dense_backward(dZ, X, W, True),
                    get(name).dense_backward(dZ, X, W, True)):
        assert g.dtype == np.dtype(dtype)
        assert_close(e, g, dtype)


# Wide enough for numba to split the products by inputs (2 * SLABS blocks of 2048 bytes), with
# a last block that is not full, samples not a multiple of 4 and outputs that leave tile edges.
WIDE = {"float64": 2100, "float32": 4100}


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_wide_layers_match_loop(name, dtype):
    rng = np.random.default_rng(6)
    X, W, b = _layer(rng, m=13, n_in=WIDE[dtype], n_out=6, dtype=dtype, scale=0.05)
    dZ = rng.normal(size=(13, 6)).astype(dtype)
    loop, kernels = get("loop"), get(name)
    for e, g in zip(loop.dense_forward(X, W, b, CODES["tanh"]),
                    kernels.dense_forward(X, W, b, CODES["tanh"])):
        assert_close(e, g, dtype)
    for e, g in zip(loop.dense_backward(dZ, X, W, True), kernels.dense_backward(dZ, X, W, True)):
        assert_close(e, g, dtype)
    rows = np.array([12, 0, 5, 5, 3, 9, 1])  # a batch read in place, with a repeated row
    for e, g in zip(loop.dense_backward(dZ[:7], X[rows], W, False)[1:],
                    kernels.dense_backward(dZ[:7], kernels.take_rows(X, rows), W, False)[1:]):
        assert_close(e, g, dtype)


LOSS_PAIRS = [(loss, act) for loss in LOSSES for act in ACTIVATIONS
              if CODES[act] in loss_codes.OUTPUTS.get(LOSS_CODES[loss], CODES.values())]


def test_loss_pairs_are_the_probability_outputs():
    assert [pair for pair in LOSS_PAIRS if pair[0] in ("bce", "cce")] == [
        ("bce", "sigmoid"), ("bce", "softmax"), ("cce", "softmax")]


@pytest.mark.parametrize("loss,activation", LOSS_PAIRS)
def test_loss_and_output_delta_against_finite_differences(backend, loss, activation):
    """output_delta(Z) is d loss_value / dZ, for every loss with every output it makes sense for."""
    rng = np.random.default_rng(6)
    kernels = get(backend)
    m, k = 4, 3
    Z = rng.normal(size=(m, k))
    Y = (np.eye(k)[rng.integers(0, k, m)] if loss == "cce"
         else rng.integers(0, 2, (m, k)).astype(float) if loss == "bce"
         else rng.normal(size=(m, k)))
    identity = np.eye(k)
    act, code = CODES[activation], LOSS_CODES[loss]

    def objective(Z):
        Zc, A = kernels.dense_forward(Z, identity, np.zeros(k), act)
        return kernels.loss_value(code, act, Zc, A, Y)

    Zc, A = kernels.dense_forward(Z, identity, np.zeros(k), act)
    got = kernels.output_delta(code, act, Zc, A, Y)
    np.testing.assert_allclose(got, _numeric_gradient(objective, Z), rtol=1e-5, atol=1e-8)
    expected_value = get("loop").loss_value(code, act, Zc, A, Y)
    assert kernels.loss_value(code, act, Zc, A, Y) == pytest.approx(expected_value, rel=1e-12)


@pytest.mark.parametrize("loss,activation", [("bce", "sigmoid"), ("cce", "softmax")])
def test_fused_losses_are_finite_at_saturated_outputs(backend, loss, activation):
    """A confident wrong prediction gives a large finite loss, never log(0)."""
    kernels = get(backend)
    Z = np.array([[800.0, -800.0]])
    Y = np.array([[0.0, 1.0]])
    act, code = CODES[activation], LOSS_CODES[loss]
    Zc, A = kernels.dense_forward(Z, np.eye(2), np.zeros(2), act)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = kernels.loss_value(code, act, Zc, A, Y)
        delta = kernels.output_delta(code, act, Zc, A, Y)
    expected = 800.0 if loss == "bce" else 1600.0
    assert value == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(delta).all()


def test_loss_values_match_their_definitions(backend):
    """mse, sse, bce and cce as api.md defines them, on numbers small enough to check by hand."""
    kernels = get(backend)
    A = np.array([[0.8], [0.4]])
    Y = np.array([[1.0], [0.0]])
    linear, sigmoid = CODES["linear"], CODES["sigmoid"]
    assert kernels.loss_value(LOSS_CODES["mse"], linear, A, A, Y) == pytest.approx(0.1)
    assert kernels.loss_value(LOSS_CODES["sse"], linear, A, A, Y) == pytest.approx(0.2)
    Z = np.log(A / (1 - A))
    expected_bce = -(np.log(0.8) + np.log(0.6)) / 2
    assert kernels.loss_value(LOSS_CODES["bce"], sigmoid, Z, A, Y) == pytest.approx(expected_bce)
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    T = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    expected_cce = -(np.log(0.7) + np.log(0.8)) / 2
    got = kernels.loss_value(LOSS_CODES["cce"], CODES["softmax"], np.log(P), P, T)
    assert got == pytest.approx(expected_cce)


def _rule(code, dtype, rng, size=20):
    """A Rule with random state: SGD with momentum 0.9 (code 0) or Adam at step 2 (code 1)."""
    first = rng.normal(size=size).astype(dtype)
    second = rng.random(size).astype(dtype)
    if code == OPT_SGD:
        return make_rule(OPT_SGD, 0.1, first, second, momentum=0.9)
    return make_rule(OPT_ADAM, 0.01, first, second, step=2, beta1=0.9, beta2=0.999, eps=1e-8)


@pytest.mark.parametrize("code", [OPT_SGD, OPT_ADAM])
def test_optimizer_step_against_its_formula(backend, code, dtype):
    """One step of each rule against the formula written out here, and the step counter."""
    rng = np.random.default_rng(7)
    params = rng.normal(size=20).astype(dtype)
    grads = rng.normal(size=20).astype(dtype)
    rule = _rule(code, dtype, rng)
    g, m, s, w = (a.astype(np.float64) for a in (grads, rule.state1, rule.state2, params))
    if code == OPT_SGD:
        expected_first, expected_second = 0.9 * m - 0.1 * g, s
        expected = w + expected_first
    else:  # the third step (t = 3)
        expected_first = 0.9 * m + 0.1 * g
        expected_second = 0.999 * s + 0.001 * g * g
        rate = 0.01 * np.sqrt(1 - 0.999**3) / (1 - 0.9**3)  # Kingma & Ba's efficient form
        expected = w - rate * expected_first / (np.sqrt(expected_second) + 1e-8)
    got_params, got_first, got_second, step = _after(backend, rule, params, grads)
    assert_close(expected, got_params, dtype)
    assert_close(expected_first, got_first, dtype)
    assert_close(expected_second, got_second, dtype)
    assert step == rule.step[0] + 1


def _after(backend, rule, params, grads):
    """(params, first, second, step) after one optimizer_step on copies."""
    copy = rule._replace(state1=rule.state1.copy(), state2=rule.state2.copy(),
                         step=rule.step.copy())
    p = params.copy()
    assert get(backend).optimizer_step(copy, p, grads) is True
    return p, copy.state1, copy.state2, int(copy.step[0])


@pytest.mark.parametrize("code", [OPT_SGD, OPT_ADAM])
def test_an_update_that_would_overflow_keeps_the_old_values(backend, code):
    rng = np.random.default_rng(8)
    params = rng.normal(size=6)
    grads = rng.normal(size=6)
    grads[2] = 1e308 if code == OPT_SGD else np.inf
    rule = _rule(code, "float64", rng, size=6)._replace(lr=1e10 if code == OPT_SGD else 0.01)
    p, first, second = params.copy(), rule.state1.copy(), rule.state2.copy()
    assert get(backend).optimizer_step(rule, p, grads) is False
    assert p[2] == params[2] and rule.state1[2] == first[2] and rule.state2[2] == second[2]
    assert np.isfinite(p).all() and (p != params).sum() == 5


def test_correct_count(backend):
    kernels = get(backend)
    A = np.array([[0.9], [0.2], [0.6]])
    Y = np.array([[1.0], [1.0], [0.0]])
    assert kernels.correct_count(LOSS_CODES["bce"], A, Y) == 1
    P = np.array([[0.7, 0.3], [0.4, 0.6]])
    T = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert kernels.correct_count(LOSS_CODES["cce"], P, T) == 1
    assert kernels.correct_count(LOSS_CODES["mse"], A, Y) == 0


def test_take_rows_feeds_the_layer_kernels(backend):
    """A batch of shuffled rows gives what the same rows copied out give."""
    rng = np.random.default_rng(8)
    kernels = get(backend)
    X, W, b = _layer(rng, m=9)
    rows = np.array([4, 0, 7, 7, 2])
    dZ = rng.normal(size=(5, W.shape[1]))
    batch = kernels.take_rows(X, rows)
    for e, g in zip(get("loop").dense_forward(X[rows], W, b, CODES["tanh"]),
                    kernels.dense_forward(batch, W, b, CODES["tanh"])):
        assert_close(e, g, "float64")
    for e, g in zip(get("loop").dense_backward(dZ, X[rows], W, True),
                    kernels.dense_backward(dZ, batch, W, True)):
        assert_close(e, g, "float64")


def test_the_numba_kernels_constants_are_fastnns():
    """The kernels' module writes its constants out (so that Numba's cache, keyed by that one
    file, follows them); they must be the ones the rest of fastnn uses."""
    pytest.importorskip("numba")
    from fastnn import network
    from fastnn.backends import _numba_kernels

    k = _numba_kernels
    names = ("LINEAR", "SIGMOID", "TANH", "RELU", "LEAKY_RELU", "SOFTMAX", "EXP", "LEAKY_SLOPE")
    assert {name: getattr(k, name) for name in names} == \
        {name: getattr(act_codes, name) for name in names}
    names = ("MSE", "SSE", "BCE", "CCE", "POISSON", "LOG_EPS")
    assert {name: getattr(k, name) for name in names} == \
        {name: getattr(loss_codes, name) for name in names}
    assert (k.OPT_SGD, k.OPT_ADAM) == (network.OPT_SGD, network.OPT_ADAM)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_numba_kernels_blocks_are_the_views_reshape_makes(dtype):
    """``_block`` builds its (m, n) views itself (not through reshape): the same elements, the
    same memory, C-contiguous; a block that would reach past its buffer is an error."""
    pytest.importorskip("numba")
    from fastnn.backends import _numba_kernels

    buffer = np.arange(30, dtype=dtype)
    for at, m, n in ((0, 5, 6), (7, 3, 4), (29, 1, 1), (10, 0, 4), (30, 0, 0)):
        block = _numba_kernels._block(buffer, at, m, n)
        assert block.shape == (m, n) and block.dtype == buffer.dtype
        assert block.flags.c_contiguous
        np.testing.assert_array_equal(block, buffer[at:at + m * n].reshape(m, n))
        if m * n:
            block[0, 0] = -1
            assert buffer[at] == -1
    for at, m, n in ((25, 2, 3), (-1, 1, 1), (0, 31, 1)):
        with pytest.raises(IndexError, match="outside its buffer"):
            _numba_kernels._block(buffer, at, m, n)
