"""fastnn's scikit-learn estimator against scikit-learn's own MLP on the cat data.

    pip install -e ".[sklearn]"
    python examples/sklearn_comparison.py [--data DIR] [--max-iter 1000] [--no-search]

The same estimator settings for both: (20, 7, 5) ReLU units and a logistic output, full-batch
SGD with lr 0.0075, scikit-learn's defaults for the rest (Nesterov's momentum 0.9, the L2
penalty alpha=1e-4), 1000 iterations, no early stop. Both start from the same weights (fastnn
draws scikit-learn's) and take the same steps, fastnn's in the dual form: fit time, accuracy
and the largest difference of their weights side by side. Then fastnn in a ``Pipeline``
(scaling, then the network with its defaults: Adam, batches of 200) under ``GridSearchCV``
over two hidden sizes.
"""

import sys
import time
import warnings

import numpy as np
from _common import add_data_flags, load_cat, parser, run

try:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier as SklearnMLP
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
except ImportError:
    sys.exit("sklearn_comparison.py needs scikit-learn: pip install -e '.[sklearn]'")

from fastnn.estimators import MLPClassifier

SETTINGS = {"hidden_layer_sizes": (20, 7, 5), "activation": "relu", "solver": "sgd",
            "learning_rate_init": 0.0075, "momentum": 0.9, "nesterovs_momentum": True,
            "alpha": 1e-4, "batch_size": 209, "tol": 0.0, "random_state": 1}


def timed_fit(model, X, y) -> float:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def main(argv=None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument("--max-iter", type=int, default=1000)
    cli.add_argument("--no-search", action="store_true", help="skip the grid search")
    add_data_flags(cli)
    args = cli.parse_args(argv)
    (X, y), (X_test, y_test), _ = load_cat(args)
    settings = dict(SETTINGS, max_iter=args.max_iter, n_iter_no_change=args.max_iter)
    ours = MLPClassifier(backend=args.backend, **settings)
    theirs = SklearnMLP(**settings)
    timed_fit(MLPClassifier(backend=args.backend, **dict(settings, max_iter=2)), X, y)  # compile
    results = {}
    print(f"cat data, {settings['hidden_layer_sizes']} ReLU, full-batch SGD, lr "
          f"{settings['learning_rate_init']}, Nesterov's momentum 0.9, alpha 1e-4, "
          f"{args.max_iter} iterations")
    print("| estimator | fit | train accuracy | test accuracy |\n|---|---:|---:|---:|")
    for name, model in (("fastnn.estimators.MLPClassifier", ours),
                        ("sklearn.neural_network.MLPClassifier", theirs)):
        seconds = timed_fit(model, X, y)
        results[name] = {"seconds": seconds, "train": model.score(X, y),
                         "test": model.score(X_test, y_test)}
        print(f"| {name} | {seconds:.2f} s | {100 * results[name]['train']:.1f} % "
              f"| {100 * results[name]['test']:.1f} % |")
    speedup = results["sklearn.neural_network.MLPClassifier"]["seconds"] / \
        results["fastnn.estimators.MLPClassifier"]["seconds"]
    print(f"fastnn: {speedup:.0f}x faster")
    results["speedup"] = speedup
    results["weights"] = max(float(np.abs(a - b).max() / np.abs(b).max())
                             for a, b in zip(ours.coefs_, theirs.coefs_))
    form = "dual form" if ours.model_.history.params["dual"] else "primal"
    print(f"largest difference of the weights, relative to each layer's largest: "
          f"{results['weights']:.1e} (fastnn in the {form})")
    if not args.no_search:
        pipeline = make_pipeline(StandardScaler(), MLPClassifier(backend=args.backend,
                                                                 random_state=1))
        search = GridSearchCV(pipeline, {"mlpclassifier__hidden_layer_sizes": [(20, 7, 5),
                                                                             (40, 10)]}, cv=3)
        seconds = timed_fit(search, X, y)
        print(f"GridSearchCV over two hidden sizes, 3 folds: {seconds:.1f} s; best "
              f"{search.best_params_['mlpclassifier__hidden_layer_sizes']}, test accuracy "
              f"{100 * search.score(X_test, y_test):.1f} %")
        results["search"] = {"best": search.best_params_, "test": search.score(X_test, y_test)}
    return results


if __name__ == "__main__":
    run(main)
