"""Seeds 000/002: predict gender from weight and height, 2-2-1 sigmoid network, per-sample SGD.

    python examples/gender.py [--backend loop|numpy|numba] [--epochs 1000]

The data: weight (lb) - 135 and height (in) - 66 of Alice, Bob, Charlie and Diana; 1 = female.
MSE loss, learning rate 0.1, one update per person (batch_size=1) in order, 1000 epochs, the
loss printed every 10 epochs. Where it happens in fastnn: ``train_epochs`` of the backend runs the
epochs; on numba all of them are one compiled call (``_train_epochs_samples`` in
``_numba_kernels.py``).
"""

import numpy as np
from _common import parser

import fastnn

PEOPLE = ["Alice", "Bob", "Charlie", "Diana"]
X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=float)
Y = np.array([1, 0, 0, 1])
EMILY, FRANK = [-7, -3], [20, 2]  # 128 lb, 63 in; 155 lb, 68 in


def main(argv=None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument("--epochs", type=int, default=1000)
    cli.add_argument("--seed", type=int, default=0, help="initial weights (normal, std 1)")
    args = cli.parse_args(argv)
    model = fastnn.Sequential([fastnn.Dense(2, activation="sigmoid"),
                               fastnn.Dense(1, activation="sigmoid")],
                              input_dim=2, init="normal", seed=args.seed)
    history = model.fit(X, Y, loss="mse", optimizer=fastnn.SGD(lr=0.1), epochs=args.epochs,
                        batch_size=1, shuffle=False, backend=args.backend)
    losses = history.history["loss"]
    for epoch in range(0, args.epochs, 10):
        print(f"Epoch {epoch} loss: {losses[epoch]:.3f}")
    emily, frank = model.predict([EMILY, FRANK], backend=args.backend)[:, 0]
    print(f"Emily: {emily:.3f}")  # female
    print(f"Frank: {frank:.3f}")  # male
    return {"losses": losses, "emily": float(emily), "frank": float(frank)}


if __name__ == "__main__":
    main()
