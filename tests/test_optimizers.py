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
