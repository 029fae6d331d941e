"""Seed 004: a 4-3-2 linear network (identity activations, no biases, every weight 1) learns to
map x = [1, 2, 3, 4] to [100, 200].

    python examples/linear_net.py [--backend loop|numpy|numba] [--epochs 100]

The seed's loss is sum(E**2) / 2 with learning rate 1e-4. fastnn's ``"sse"`` is sum(E**2), whose
gradient is twice as large, so lr 0.5e-4 makes exactly the seed's updates. The seed stores W1 as
(3, 4) and W2 as (2, 3) (one column per sample); fastnn stores W (n_in, n_out), the transposes:
the trained matrices are printed in the seed's layout.
"""

import numpy as np
from _common import parser

import fastnn

X = np.array([[1.0, 2.0, 3.0, 4.0]])
Y = np.array([[100.0, 200.0]])


def main(argv=None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument("--epochs", type=int, default=100)
    args = cli.parse_args(argv)
    model = fastnn.Sequential([fastnn.Dense(3, use_bias=False), fastnn.Dense(2, use_bias=False)],
                              input_dim=4, init="ones")
    model.fit(X, Y, loss="sse", optimizer=fastnn.SGD(lr=0.5e-4), epochs=args.epochs,
              backend=args.backend)
    W1, _, W2, _ = model.get_weights()
    output = model.predict(X, backend=args.backend)[0]
    print("W1 =", W1.T, sep="\n")
    print("W2 =", W2.T, sep="\n")
    print("y =", output.reshape(-1, 1), sep="\n")
    return {"W1": W1.T, "W2": W2.T, "output": output}


if __name__ == "__main__":
    main()
