"""Seed 001: a 3-4-1 sigmoid network learns the table y = x1 XOR x2, with the SSE loss.

    python examples/xor_table.py [--backend loop|numpy|numba] [--epochs 1500]

Full-batch gradient descent on the four rows, 1500 iterations, sum of squared errors (the seed's
loss, ``loss="sse"`` here), learning rate 1 as in the seed's ``weights += d_weights``.
"""

import numpy as np
from _common import parser

import fastnn

X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
Y = np.array([0, 1, 1, 0])


def main(argv=None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument("--epochs", type=int, default=1500)
    cli.add_argument("--seed", type=int, default=1)
    args = cli.parse_args(argv)
    model = fastnn.Sequential([fastnn.Dense(4, activation="sigmoid"),
                               fastnn.Dense(1, activation="sigmoid")],
                              input_dim=3, init="normal", seed=args.seed)
    history = model.fit(X, Y, loss="sse", optimizer=fastnn.SGD(lr=1.0), epochs=args.epochs,
                        backend=args.backend)
    predictions = model.predict(X, backend=args.backend)[:, 0]
    print(f"loss after {args.epochs} iterations: {history.history['loss'][-1]:.5f}")
    print("prediction | y (actual)")
    for p, y in zip(predictions, Y):
        print(f"{p:10.3f} | {y}")
    return {"predictions": predictions, "losses": history.history["loss"]}


if __name__ == "__main__":
    main()
