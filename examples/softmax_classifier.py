"""Seed 004's closing sketch: a ReLU hidden layer and a softmax output, trained with mini-batch
SGD, on a 3-class spiral that no linear classifier can separate.

    python examples/softmax_classifier.py [--backend ...] [--epochs 300]

300 points (``fastnn.datasets.make_spiral``), 100 ReLU units, categorical cross-entropy with
integer labels, SGD with momentum 0.9, lr 0.1, batches of 32, shuffled: over 95 % training
accuracy.
"""

from _common import parser

import fastnn


def main(argv=None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument("--epochs", type=int, default=300)
    cli.add_argument("--seed", type=int, default=0)
    args = cli.parse_args(argv)
    X, y = fastnn.datasets.make_spiral(100, 3, seed=0)
    model = fastnn.Sequential([fastnn.Dense(100, activation="relu"),
                               fastnn.Dense(3, activation="softmax")],
                              input_dim=2, init="he", seed=args.seed)
    history = model.fit(X, y, loss="cce", optimizer=fastnn.SGD(lr=0.1, momentum=0.9),
                        epochs=args.epochs, batch_size=32, seed=args.seed, backend=args.backend)
    for epoch in range(0, args.epochs, max(1, args.epochs // 10)):
        print(f"epoch {epoch}: loss {history.history['loss'][epoch]:.4f}, "
              f"accuracy {100 * history.history['accuracy'][epoch]:.1f} %")
    accuracy = model.evaluate(X, y, backend=args.backend)["accuracy"]
    print(f"training accuracy: {100 * accuracy:.2f} %")
    return {"accuracy": accuracy, "losses": history.history["loss"]}


if __name__ == "__main__":
    main()
