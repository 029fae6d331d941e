"""Optimizers: settings checked whenever set, schedules, their state (bound, reset, pickled,
saved), the names optimizer= takes, and every rule against its definition written apart, across
backends, in float32, and against Keras 3 itself where it is installed."""

import pickle

import numpy as np
import pytest
from helpers import small_model

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
    with pytest.raises(ValueError, match="optimizer: unknown name 'adadelta'"):
        optimizers.get("adadelta")
    for name, kind in (("rmsprop", fastnn.RMSprop), ("adagrad", fastnn.Adagrad),
                       ("adamw", fastnn.AdamW), ("nadam", fastnn.Nadam)):
        assert isinstance(optimizers.get(name), kind)
    sgd = fastnn.SGD(0.2, momentum=0.5, nesterov=True, schedule="invscaling", power_t=0.3)
    assert type(sgd)(**sgd.get_config()).get_config() == sgd.get_config()
    assert "nesterov=True" in repr(sgd)
    for optimizer in (fastnn.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
                      fastnn.Adagrad(0.1, initial_accumulator=0.2),
                      fastnn.AdamW(weight_decay=0.01, schedule="inverse_time", decay_rate=0.5,
                                   decay_steps=10, staircase=True),
                      fastnn.Nadam(0.002, beta2=0.99)):
        assert type(optimizer)(**optimizer.get_config()).get_config() == optimizer.get_config()
    assert fastnn.AdamW().eps == fastnn.Nadam().eps == fastnn.RMSprop().eps == 1e-7  # (Keras')
    with pytest.raises(ValueError, match="rho: must be < 1"):
        fastnn.RMSprop(rho=1.0)
    with pytest.raises(ValueError, match="weight_decay: must be a finite number >= 0"):
        fastnn.AdamW(weight_decay=-1)
    with pytest.raises(TypeError, match="centered: expected True or False"):
        fastnn.RMSprop(centered="yes")
    with pytest.raises(TypeError, match="unexpected keyword argument 'decay'"):
        fastnn.Adagrad(decay=0.1)


def test_the_inverse_time_schedule():
    """Keras' InverseTimeDecay over epochs, the course's schedule_lr_decay with staircase."""
    smooth = fastnn.SGD(0.3, schedule="inverse_time", decay_rate=0.5, decay_steps=4)
    steps = fastnn.SGD(0.3, schedule="inverse_time", decay_rate=0.5, decay_steps=4,
                       staircase=True)
    for epoch in range(9):
        assert smooth.learning_rate == pytest.approx(0.3 / (1 + 0.5 * epoch / 4))
        assert steps.learning_rate == pytest.approx(0.3 / (1 + 0.5 * (epoch // 4)))
        smooth.epoch_ends(10)
        steps.epoch_ends(10)
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    model = fastnn.Sequential([fastnn.Dense(1, activation="sigmoid")], input_dim=3, seed=0)
    history = model.fit(X, y, optimizer=fastnn.SGD(0.3, schedule="inverse_time",
                                                   decay_rate=1.0, decay_steps=2), epochs=4)
    np.testing.assert_allclose(history.history["lr"], [0.3, 0.2, 0.15, 0.12])


def _reference_steps(kind, params, gradients, lr, real, **settings):
    """Every rule written apart from fastnn's, as Keras 3 defines them (keras/optimizers/*.py):
    values in ``real`` (float32 or float64), every step's scalars (1 - beta, the bias
    corrections, Nadam's momentum schedule) in float64, then cast."""
    p = params.astype(real)
    s1, s2, s3 = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    beta1, beta2, momentum = 0.9, settings.get("beta2", 0.9999), settings.get("momentum", 0.9)
    eps, rho = settings.get("eps", 1e-8), settings.get("rho", 0.9)
    product = 1.0
    if kind == "adagrad":
        s1[:] = settings.get("initial", 0.1)
    for t, g in enumerate(gradients, start=1):
        g = g.astype(real)
        if kind in ("adam", "adamw", "nadam"):
            if kind == "adamw":  # (Keras' decoupled weight decay, before the step)
                p = p - p * real(settings["weight_decay"] * lr)
            s1 = real(beta1) * s1 + real(1.0 - beta1) * g
            s2 = real(beta2) * s2 + real(1.0 - beta2) * g * g
            if kind == "nadam":
                u_t = beta1 * (1.0 - 0.5 * 0.96**t)
                u_next = beta1 * (1.0 - 0.5 * 0.96**(t + 1))
                product *= u_t
                m_hat = real(u_next / (1.0 - product * u_next)) * s1 + \
                    real((1.0 - u_t) / (1.0 - product)) * g
                v_hat = s2 / real(1.0 - beta2**t)
                p = p - real(lr) * m_hat / (np.sqrt(v_hat) + real(eps))
            else:
                rate = real(lr * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t))
                p = p - rate * s1 / (np.sqrt(s2) + real(eps))
        elif kind in ("rmsprop", "rmsprop_centered", "rmsprop_momentum"):
            s1 = real(rho) * s1 + real(1.0 - rho) * g * g
            denominator = s1 + real(eps)
            if kind == "rmsprop_centered":
                s2 = real(rho) * s2 + real(1.0 - rho) * g
                denominator = s1 - s2 * s2 + real(eps)
            increment = real(lr) * g / np.sqrt(denominator)
            if kind == "rmsprop_momentum":
                s3 = real(momentum) * s3 + increment
                p = p - s3
            else:
                p = p - increment
        elif kind == "adagrad":
            s1 = s1 + g * g
            p = p - real(lr) * g / np.sqrt(s1 + real(eps))
        else:
            s1 = real(momentum) * s1 - real(lr) * g
            p = p + (real(momentum) * s1 - real(lr) * g if kind == "nesterov" else s1)
    return p


# Each rule: (its fastnn optimizer, the reference's settings), lr given at the call.
RULES = {
    "sgd": (lambda lr: fastnn.SGD(lr, momentum=0.9), {}),
    "nesterov": (lambda lr: fastnn.SGD(lr, momentum=0.9, nesterov=True), {}),
    "adam": (lambda lr: fastnn.Adam(lr, beta2=0.9999), {}),
    "adamw": (lambda lr: fastnn.AdamW(lr, beta2=0.9999, eps=1e-8, weight_decay=0.05),
              {"weight_decay": 0.05}),
    "nadam": (lambda lr: fastnn.Nadam(lr, beta2=0.9999, eps=1e-8), {}),
    "rmsprop": (lambda lr: fastnn.RMSprop(lr, rho=0.8, eps=1e-7), {"rho": 0.8, "eps": 1e-7}),
    "rmsprop_centered": (lambda lr: fastnn.RMSprop(lr, rho=0.8, eps=1e-7, centered=True),
                         {"rho": 0.8, "eps": 1e-7}),
    "rmsprop_momentum": (lambda lr: fastnn.RMSprop(lr, rho=0.8, eps=1e-7, momentum=0.5),
                         {"rho": 0.8, "eps": 1e-7, "momentum": 0.5}),
    "adagrad": (lambda lr: fastnn.Adagrad(lr, initial_accumulator=0.2, eps=1e-7),
                {"initial": 0.2, "eps": 1e-7}),
}


def _steps(backend, kind, params, gradients, lr, real):
    """``kernels.optimizer_step`` of ``backend`` over ``gradients``, from ``params``."""
    kernels = fastnn.backends.get(backend)
    flat = params.astype(real)
    optimizer = RULES[kind][0](lr)
    rule = optimizer.bind(flat)
    for g in gradients:
        assert kernels.optimizer_step(rule, flat, g.astype(real))
    return flat


@pytest.mark.parametrize("backend", ["loop", "numpy", "numba"])
@pytest.mark.parametrize("kind", sorted(RULES))
def test_every_rule_is_its_definition(backend, kind):
    """Each backend's steps of each rule equal the rule written apart (float64, 1e-12)."""
    if backend not in fastnn.available_backends():
        pytest.skip(f"{backend} is not installed")
    rng = np.random.default_rng(4)
    params = rng.normal(size=40)
    steps = 60 if backend == "loop" else 400
    gradients = [rng.normal(size=40) * 10.0 ** rng.uniform(-2, 1) for _ in range(steps)]
    expected = _reference_steps(kind, params, gradients, 0.01, np.float64, **RULES[kind][1])
    got = _steps(backend, kind, params, gradients, 0.01, np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("kind", sorted(RULES))
def test_float32_steps_keep_their_scalars_in_float64(backend, kind):
    """A float32 optimizer ends no further from the float64 result than 5x the same update
    written in float32 with its step scalars in float64 (Adam's beta2 0.9999: 1 - beta2 in
    float32 keeps 3 digits)."""
    if backend not in fastnn.available_backends():
        pytest.skip(f"{backend} is not installed")
    rng = np.random.default_rng(0)
    params, mean = rng.normal(size=500), rng.normal(size=500)
    gradients = [mean + 0.1 * rng.normal(size=500) for _ in range(3000)]  # (steady: rounding
    # of a step's scalars adds up, where the gradients' own noise would hide it)
    lr = 1e-4 if kind in ("sgd", "nesterov") else 1e-2
    settings = RULES[kind][1]
    expected = _reference_steps(kind, params, gradients, lr, np.float64, **settings)
    reference = _reference_steps(kind, params, gradients, lr, np.float32, **settings)
    np.testing.assert_allclose(_steps(backend, kind, params, gradients, lr, np.float64),
                               expected, rtol=1e-10, atol=1e-12)
    got = _steps(backend, kind, params, gradients, lr, np.float32)
    error, allowed = np.abs(got - expected).max(), np.abs(reference - expected).max()
    assert error <= 5 * allowed, (error, allowed)


@pytest.mark.parametrize("kind", ["adamw", "nadam", "rmsprop_centered", "rmsprop_momentum",
                                  "adagrad"])
def test_the_new_rules_fit_alike_on_every_backend_and_resume_exactly(kind, tmp_path):
    """A fit with each rule ends with the same weights on the three backends (1e-10); fits
    of 3 and 3 epochs with a save and a load between equal one of 6 (state, step and Nadam's
    product in the file)."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(24, 5)), rng.integers(0, 3, 24)
    results = {}
    for backend in fastnn.available_backends():
        model = small_model((5, 6, 3), ("tanh", "softmax"), seed=3)
        model.fit(X, y, optimizer=RULES[kind][0](0.02), epochs=3, batch_size=5, seed=1,
                  backend=backend)
        results[backend] = np.concatenate([w.ravel() for w in model.get_weights()])
    for backend, weights in results.items():
        np.testing.assert_allclose(weights, results["loop"], rtol=1e-10, atol=1e-12,
                                   err_msg=backend)
    whole = small_model((5, 6, 3), ("tanh", "softmax"), seed=3)
    whole.fit(X, y, optimizer=RULES[kind][0](0.02), epochs=6, batch_size=5, seed=1)
    first = small_model((5, 6, 3), ("tanh", "softmax"), seed=3)
    first.fit(X, y, optimizer=RULES[kind][0](0.02), epochs=3, batch_size=5, seed=1)
    first.save(tmp_path / "half.h5")
    second = fastnn.load_model(tmp_path / "half.h5")
    assert type(second.optimizer) is type(first.optimizer)
    second.fit(X, y, epochs=3, batch_size=5)
    for a, b in zip(whole.get_weights(), second.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


# Both sides' settings for the comparison with Keras: dyadic numbers, which Keras' float32
# hyperparameter variables hold exactly.
LR, B1, B2, EPS = 2.0**-6, 0.875, 1 - 2.0**-10, 2.0**-20
KERAS = {
    "sgd": (lambda: fastnn.SGD(LR, momentum=0.5), "SGD", {"momentum": 0.5}),
    "nesterov": (lambda: fastnn.SGD(LR, momentum=0.5, nesterov=True), "SGD",
                 {"momentum": 0.5, "nesterov": True}),
    "adam": (lambda: fastnn.Adam(LR, B1, B2, EPS), "Adam",
             {"beta_1": B1, "beta_2": B2, "epsilon": EPS}),
    "adamw": (lambda: fastnn.AdamW(LR, B1, B2, EPS, weight_decay=2.0**-5), "AdamW",
              {"beta_1": B1, "beta_2": B2, "epsilon": EPS, "weight_decay": 2.0**-5}),
    "nadam": (lambda: fastnn.Nadam(LR, B1, B2, EPS), "Nadam",
              {"beta_1": B1, "beta_2": B2, "epsilon": EPS}),
    "rmsprop": (lambda: fastnn.RMSprop(LR, rho=0.75, eps=EPS), "RMSprop",
                {"rho": 0.75, "epsilon": EPS}),
    "rmsprop_centered": (lambda: fastnn.RMSprop(LR, rho=0.75, eps=EPS, centered=True),
                         "RMSprop", {"rho": 0.75, "epsilon": EPS, "centered": True}),
    "rmsprop_momentum": (lambda: fastnn.RMSprop(LR, rho=0.75, eps=EPS, momentum=0.5),
                         "RMSprop", {"rho": 0.75, "epsilon": EPS, "momentum": 0.5}),
    "adagrad": (lambda: fastnn.Adagrad(LR, initial_accumulator=0.25, eps=EPS), "Adagrad",
                {"initial_accumulator_value": 0.25, "epsilon": EPS}),
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (Keras' own, on NumPy 2)
@pytest.mark.parametrize("kind", sorted(KERAS))
def test_every_rule_against_keras(kind):
    """Keras 3 itself (where it is installed, on its torch backend): 25 steps of each rule on
    one float64 variable give the same values (1e-10)."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the comparison runs on Keras' torch backend")
    ours, name, options = KERAS[kind]
    theirs = getattr(keras.optimizers, name)(LR, **options)
    rng = np.random.default_rng(5)
    params, gradients = rng.normal(size=7), [rng.normal(size=7) for _ in range(25)]
    variable = keras.Variable(params.copy(), dtype="float64")
    for g in gradients:
        theirs.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), variable)])
    flat = params.copy()
    rule = ours().bind(flat)
    for g in gradients:
        fastnn.backends.get("numpy").optimizer_step(rule, flat, g)
    np.testing.assert_allclose(flat, keras.ops.convert_to_numpy(variable), rtol=1e-10,
                               atol=1e-12)
