"""Seed 003: a 2-4-1 tanh/sigmoid network separates the "flower" data that logistic regression
cannot; then the same net with 1 to 50 hidden units.

    python examples/planar.py [--backend loop|numpy|numba] [--epochs 10000] [--plot flower.png]

400 points (``fastnn.datasets.make_planar``), full-batch gradient descent, lr 1.2, ``init="small"``
(normal x 0.01) with seed 2, binary cross-entropy: the course's ``nn_model`` (about 90 % accuracy).
"""

import numpy as np
from _common import parser

import fastnn

HIDDEN_SIZES = (1, 2, 3, 4, 5, 20, 50)


def train(X, y, hidden, epochs, backend):
    model = fastnn.Sequential([fastnn.Dense(hidden, activation="tanh"),
                               fastnn.Dense(1, activation="sigmoid")],
                              input_dim=2, init="small", seed=2)
    model.fit(X, y, loss="bce", optimizer=fastnn.SGD(lr=1.2), epochs=epochs, backend=backend)
    return model


def plot_boundary(model, X, y, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib: pip install 'fastnn[plot]'")
        return False
    xx, yy = np.meshgrid(np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, 300),
                         np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 300))
    grid = np.c_[xx.ravel(), yy.ravel()]
    zz = (model.predict(grid)[:, 0] > 0.5).reshape(xx.shape)
    figure, axis = plt.subplots(figsize=(5, 4))
    axis.contourf(xx, yy, zz, cmap=plt.cm.Spectral, alpha=0.8)
    axis.scatter(X[:, 0], X[:, 1], c=y, s=12, cmap=plt.cm.Spectral, edgecolors="k", linewidths=0.3)
    axis.set_title(f"decision boundary, {model.layers[0].units} hidden units")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def main(argv=None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument("--epochs", type=int, default=10000)
    cli.add_argument("--sizes-epochs", type=int, default=5000,
                     help="iterations for each hidden size of the comparison")
    cli.add_argument("--sizes", type=int, nargs="*", default=list(HIDDEN_SIZES))
    cli.add_argument("--plot", metavar="PATH", help="save the decision boundary (matplotlib)")
    args = cli.parse_args(argv)
    X, y = fastnn.datasets.make_planar(400, seed=1)
    model = train(X, y, 4, args.epochs, args.backend)
    accuracy = model.evaluate(X, y, backend=args.backend)["accuracy"]
    print(f"4 hidden units, {args.epochs} iterations: accuracy {100 * accuracy:.2f} %")
    if args.plot and plot_boundary(model, X, y, args.plot):
        print(f"decision boundary saved to {args.plot}")
    table = {}
    print("\n| hidden units | accuracy |\n|---:|---:|")
    for hidden in args.sizes:
        sized = train(X, y, hidden, args.sizes_epochs, args.backend)
        table[hidden] = sized.evaluate(X, y, backend=args.backend)["accuracy"]
        print(f"| {hidden} | {100 * table[hidden]:.2f} % |")
    return {"accuracy": accuracy, "by_hidden_size": table}


if __name__ == "__main__":
    main()
