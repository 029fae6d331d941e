"""Seed 003: logistic regression on the cat images with three learning rates.

    python examples/learning_rates.py [--backend ...] [--epochs 1500] [--plot rates.png]

One sigmoid unit on 12288 pixels, zeros init, full-batch gradient descent, 1500 iterations for
each of lr 0.01, 0.001, 0.0001; the learning curves in one plot and the accuracies in a table.
``--train-samples N`` trains on the first N images only (to try the slow loop backend).
"""


import numpy as np
from _common import add_data_flags, check_matplotlib, check_output, load_cat, parser, run

import fastnn

RATES = (0.01, 0.001, 0.0001)


def main(argv=None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument("--epochs", type=int, default=1500)
    add_data_flags(cli)
    cli.add_argument("--train-samples", type=int, help="use the first N training images")
    cli.add_argument("--plot", metavar="PATH", help="save the learning curves (matplotlib)")
    args = cli.parse_args(argv)
    fastnn.checks.positive_int("--epochs", args.epochs)  # before any work
    check_output("--plot", args.plot)
    check_matplotlib("--plot", args.plot)
    (X, y), (X_test, y_test), _ = load_cat(args)
    X, y = X[:args.train_samples], y[:args.train_samples]
    results = {}
    print("| lr | final cost | train accuracy | test accuracy |\n|---:|---:|---:|---:|")
    for lr in RATES:
        model = fastnn.Sequential([fastnn.Dense(1, activation="sigmoid")], input_dim=12288,
                                  init="zeros")
        history = model.fit(X, y, loss="bce", optimizer=fastnn.SGD(lr=lr), epochs=args.epochs,
                            backend=args.backend)
        train = model.evaluate(X, y, backend=args.backend)["accuracy"]
        test = model.evaluate(X_test, y_test, backend=args.backend)["accuracy"]
        results[lr] = {"costs": history.history["loss"], "train_accuracy": train,
                       "test_accuracy": test}
        print(f"| {lr} | {history.history['loss'][-1]:.4f} | {100 * train:.2f} % "
              f"| {100 * test:.2f} % |")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(6, 4))
        for lr, result in results.items():
            axis.plot(np.arange(len(result["costs"])), result["costs"], label=f"lr {lr}")
        axis.set_xlabel("iteration")
        axis.set_ylabel("cost")
        axis.legend()
        figure.savefig(args.plot, dpi=100)
        plt.close(figure)
        print(f"learning curves saved to {args.plot}")
    return results


if __name__ == "__main__":
    run(main)
