"""Seeds 000/002: one neuron, a 2-2-1 network, and Alice's gradient, on fastnn.

    python examples/neuron_and_network.py [--backend loop|numpy|numba]

Where it happens in fastnn: the weighted sum and sigmoid are ``dense_forward`` (Z = X @ W + b,
A = sigmoid(Z)) in ``fastnn/backends/_loop.py`` (neuron by neuron), ``_numpy.py`` (one matrix
product) and ``_numba.py`` (compiled loops); the chain rule of the gradient is ``output_delta``
(dL/dZ of the output) then ``dense_backward`` and ``activation_backward`` layer by layer.
"""

import numpy as np
from _common import parser

import fastnn


def sigmoid_net(hidden: int | None) -> fastnn.Sequential:
    layers = [fastnn.Dense(hidden, activation="sigmoid")] if hidden else []
    layers.append(fastnn.Dense(1, activation="sigmoid"))
    return fastnn.Sequential(layers, input_dim=2)


def main(argv=None) -> dict:
    args = parser(__doc__.split("\n")[0]).parse_args(argv)

    # A neuron: w = [0, 1], b = 4, x = [2, 3]  ->  sigmoid(0*2 + 1*3 + 4) = sigmoid(7)
    neuron = sigmoid_net(None)
    neuron.set_weights([[[0], [1]], [4]])
    neuron_out = float(neuron.predict([[2, 3]], backend=args.backend)[0, 0])
    print(f"neuron output:            {neuron_out!r}")

    # The 2-2-1 network, every neuron w = [0, 1], b = 0: h1 = h2 = sigmoid(3), o1 = sigmoid(h2)
    network = sigmoid_net(2)
    network.set_weights([[[0, 0], [1, 1]], [0, 0], [[0], [1]], [0]])
    network_out = float(network.predict([[2, 3]], backend=args.backend)[0, 0])
    print(f"2-2-1 network output:     {network_out!r}")

    # Alice (-2, -1), female (1); every weight 1, biases 0; MSE = (1 - y_pred)^2
    network.set_weights([np.ones((2, 2)), [0, 0], [[1], [1]], [0]])
    grads = network.gradients([[-2, -1]], [1], loss="mse", backend=args.backend)
    dL_dw1 = float(grads[0][0, 0])  # w1: input x1 (weight) -> hidden h1
    print(f"Alice, dL/dw1:            {dL_dw1!r}")
    return {"neuron": neuron_out, "network": network_out, "dL_dw1": dL_dw1}


if __name__ == "__main__":
    main()
