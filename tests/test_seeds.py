"""The tutorials' worked numbers (seeds 000 and 002), reproduced through the public API."""

import numpy as np
import pytest

import fastnn

GENDER_X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=float)  # Alice Bob Charlie Diana
GENDER_Y = np.array([1, 0, 0, 1])
EMILY, FRANK = [-7, -3], [20, 2]


def sigmoid_net(init, hidden=2):
    layers = [fastnn.Dense(hidden, activation="sigmoid"), fastnn.Dense(1, activation="sigmoid")]
    return fastnn.Sequential(layers, input_dim=2, init=init, seed=0)


def test_single_neuron(backend):
    """w = [0, 1], b = 4, x = [2, 3]: sigmoid(7) = 0.9990889488055994."""
    neuron = fastnn.Sequential([fastnn.Dense(1, activation="sigmoid")], input_dim=2)
    neuron.set_weights([[[0], [1]], [4]])
    got = neuron.predict([[2, 3]], backend=backend)[0, 0]
    assert got == pytest.approx(0.9990889488055994, rel=1e-15, abs=0)


def test_two_two_one_network(backend):
    """Every neuron w = [0, 1], b = 0, x = [2, 3]: 0.7216325609518421."""
    net = sigmoid_net("zeros")
    net.set_weights([[[0, 0], [1, 1]], [0, 0], [[0], [1]], [0]])
    got = net.predict([[2, 3]], backend=backend)[0, 0]
    assert got == pytest.approx(0.7216325609518421, rel=1e-15, abs=0)


def test_alice_gradient(backend):
    """All weights 1, biases 0, MSE on Alice alone: dL/dw1 = 0.0214695..."""
    net = sigmoid_net("ones")
    grads = net.gradients([[-2, -1]], [1], loss="mse", backend=backend)
    assert grads[0][0, 0] == pytest.approx(0.0214695, abs=5e-8)
    assert grads[0][0, 0] == pytest.approx(0.021469535265811, rel=1e-12)


def test_mse_of_the_tutorial():
    """y_true [1, 0, 0, 1], y_pred all 0: MSE 0.5."""
    net = fastnn.Sequential([fastnn.Dense(1)], input_dim=1, init="zeros")
    assert net.evaluate([[0], [0], [0], [0]], [1, 0, 0, 1], loss="mse")["loss"] == 0.5


def test_gender_trained_per_sample(backend):
    """Per-sample SGD, lr 0.1, 1000 epochs: Emily is female (> 0.9), Frank male (< 0.1)."""
    net = sigmoid_net("normal")
    history = net.fit(GENDER_X, GENDER_Y, loss="mse", optimizer=fastnn.SGD(lr=0.1), epochs=1000,
                      batch_size=1, shuffle=False, backend=backend)
    loss = history.history["loss"]
    assert len(loss) == 1000 and loss[-1] < loss[0] / 10
    emily, frank = net.predict([EMILY, FRANK], backend=backend)[:, 0]
    assert emily > 0.9 and frank < 0.1
