"""Optimizers: settings checked whenever set, schedules, their state (bound, reset, pickled),
and the names optimizer= takes. (The update rules themselves: tests/test_backend_ops.py.)"""

import pickle

import numpy as np
import pytest

import fastnn
from fastnn import optimizers


@pytest.mark.parametrize("attribute,value,message", [
    ("lr", float("nan"), r"lr: must be a finite number > 0, got nan"),
    ("lr", -0.1, r"lr: must be a finite number > 0, got -0.1"),
    ("momentum", 1.5, r"momentum: must be < 1"),
])
def test_optimizer_hyperparameters_are_checked_when_set_later(attribute, value, message):
    optimizer = fastnn.SGD(lr=0.1, momentum=0.5)
    with pytest.raises(ValueError, match=message):
        setattr(optimizer, attribute, value)
    assert optimizer.lr == 0.1 and optimizer.momentum == 0.5
    adam = fastnn.Adam()
    with pytest.raises(ValueError, match="eps: must be a finite number > 0"):
        adam.eps = 0
    with pytest.raises(TypeError, match="beta2: expected a number"):
        adam.beta2 = "0.9"


def test_the_schedules_rates():
    constant = fastnn.SGD(0.3)
    invscaling = fastnn.SGD(0.3, schedule="invscaling", power_t=0.5)
    adaptive = fastnn.SGD(0.3, schedule="adaptive", min_lr=0.3 / 25)
    for optimizer in (constant, invscaling, adaptive):
        optimizer.epoch_ends(15)
    assert constant.learning_rate == 0.3
    assert invscaling.learning_rate == pytest.approx(0.3 / 16 ** 0.5)
    assert adaptive.learning_rate == 0.3 and not constant.reduce()
    assert adaptive.reduce() and adaptive.learning_rate == pytest.approx(0.06)
    assert adaptive.reduce() and adaptive.learning_rate == pytest.approx(0.012)
    assert not adaptive.reduce() and adaptive.learning_rate == pytest.approx(0.012)


def test_state_is_bound_to_the_parameters_and_reset_when_they_change():
    optimizer = fastnn.Adam()
    optimizer.samples = 40  # (set before the first fit: it stays)
    rule = optimizer.bind(np.zeros(6))
    assert rule.state1.shape == (6,) and optimizer.samples == 40
    rule.step[0] = 3
    assert optimizer.bind(np.zeros(6)).step[0] == 3  # the same state goes on
    optimizer.bind(np.zeros(7))
    assert optimizer.step[0] == 0 and optimizer.samples == 0 and optimizer.state1.shape == (7,)


def test_an_unpickled_optimizer_owns_writable_state():
    optimizer = fastnn.SGD(0.1, momentum=0.9)
    optimizer.bind(np.zeros(4))
    for name in ("state1", "state2", "step"):
        getattr(optimizer, name).flags.writeable = False
    again = pickle.loads(pickle.dumps(optimizer))
    assert all(getattr(again, name).flags.writeable for name in ("state1", "state2", "step"))


def test_names_and_configs():
    assert isinstance(optimizers.get("adam"), fastnn.Adam)
    assert isinstance(optimizers.get("lbfgs"), fastnn.LBFGS)
    with pytest.raises(ValueError, match="optimizer: unknown name 'rmsprop'"):
        optimizers.get("rmsprop")
    sgd = fastnn.SGD(0.2, momentum=0.5, nesterov=True, schedule="invscaling", power_t=0.3)
    assert type(sgd)(**sgd.get_config()).get_config() == sgd.get_config()
    assert "nesterov=True" in repr(sgd)


def _reference_steps(kind, params, gradients, lr, real):
    """SGD (classical, Nesterov) and Adam written apart: values in ``real`` (float32 or
    float64), every step's scalars (1 - beta, the bias corrections) in float64, then cast."""
    p = params.astype(real)
    s1, s2 = np.zeros_like(p), np.zeros_like(p)
    beta1, beta2, eps, momentum = 0.9, 0.9999, 1e-8, 0.9
    for t, g in enumerate(gradients, start=1):
        g = g.astype(real)
        if kind == "adam":
            s1 = real(beta1) * s1 + real(1.0 - beta1) * g
            s2 = real(beta2) * s2 + real(1.0 - beta2) * g * g
            rate = real(lr * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t))
            p = p - rate * s1 / (np.sqrt(s2) + real(eps))
        else:
            s1 = real(momentum) * s1 - real(lr) * g
            p = p + (real(momentum) * s1 - real(lr) * g if kind == "nesterov" else s1)
    return p


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("kind", ["sgd", "nesterov", "adam"])
def test_float32_steps_keep_their_scalars_in_float64(backend, kind):
    """A float32 optimizer ends no further from the float64 result than 5x the same update
    written in float32 with its step scalars in float64 (Adam's beta2 0.9999: 1 - beta2 in
    float32 keeps 3 digits)."""
    if backend not in fastnn.available_backends():
        pytest.skip(f"{backend} is not installed")
    kernels = fastnn.backends.get(backend)
    rng = np.random.default_rng(0)
    params, mean = rng.normal(size=500), rng.normal(size=500)
    gradients = [mean + 0.1 * rng.normal(size=500) for _ in range(3000)]  # (steady: rounding
    # of a step's scalars adds up, where the gradients' own noise would hide it)
    lr = 1e-2 if kind == "adam" else 1e-4
    expected = _reference_steps(kind, params, gradients, lr, np.float64)
    reference = _reference_steps(kind, params, gradients, lr, np.float32)

    optimizer = (fastnn.Adam(lr, beta2=0.9999) if kind == "adam" else
                 fastnn.SGD(lr, momentum=0.9, nesterov=kind == "nesterov"))
    for real in (np.float64, np.float32):
        flat = params.astype(real)
        optimizer.reset(flat)
        rule = optimizer.bind(flat)
        for g in gradients:
            assert kernels.optimizer_step(rule, flat, g.astype(real))
        if real is np.float64:
            np.testing.assert_allclose(flat, expected, rtol=1e-12, atol=1e-14)
    error, allowed = np.abs(flat - expected).max(), np.abs(reference - expected).max()
    assert error <= 5 * allowed, (error, allowed)
