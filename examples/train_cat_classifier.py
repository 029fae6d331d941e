"""Train the cat vs non-cat classifier of the Coursera course (seed 003) on fastnn.

    python examples/train_cat_classifier.py                       # deep model, numba if available
    python examples/train_cat_classifier.py --model logreg        # logistic regression
    python examples/train_cat_classifier.py --save cat.h5 --metrics-json metrics.json --plot cat.png
    mpiexec -n 2 python examples/train_cat_classifier.py --distributed   # data-parallel (MPI)

``--model deep``: layers [12288, 20, 7, 5, 1], ReLU then sigmoid, lecun init with seed 1, binary
cross-entropy, full-batch gradient descent, lr 0.0075, 2500 iterations (train ~98%, test ~80%).
``--model logreg``: one sigmoid unit, zeros init, lr 0.005, 2000 iterations (train ~99%, test 70%).
The data comes from ``--data DIR``, else ``$FASTNN_DATA``, else the download cache (see README).
Output paths are checked before training. The time printed is the fit's as a user meets it:
``--backend auto`` (the default) runs numba where its compiled kernels are cached, else numpy
while they compile in the background for the next run; ``--backend numba`` compiles them first
where they are not cached (saying so).
"""

import argparse
import json
import os
import time

from _common import add_data_flags, check_matplotlib, check_output, load_cat, run

import fastnn

PRESETS = {
    "deep": {"hidden": (20, 7, 5), "init": "lecun", "lr": 0.0075, "epochs": 2500},
    "logreg": {"hidden": (), "init": "zeros", "lr": 0.005, "epochs": 2000},
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(PRESETS), default="deep")
    parser.add_argument("--backend", choices=["auto", "loop", "numpy", "numba"], default="auto")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--epochs", type=int, help="iterations over the training set")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--batch-size", type=int, help="default: full batch, as in the course")
    parser.add_argument("--seed", type=int, default=1, help="initialization and shuffling")
    parser.add_argument("--dual", choices=["auto", "on", "off"], default="auto",
                        help="train the first layer in the dual (Gram) form (default: auto)")
    add_data_flags(parser)
    parser.add_argument("--save", metavar="PATH", help="write the trained model (HDF5)")
    parser.add_argument("--metrics-json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--plot", metavar="PATH", help="save the learning curve (matplotlib)")
    parser.add_argument("--log-every", type=int, default=100, help="print the cost every N")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over MPI: run under mpiexec -n N (needs "
                             "pip install -e '.[mpi]'); rank 0 prints and writes")
    args = parser.parse_args(argv)
    args.dual = {"auto": "auto", "on": True, "off": False}[args.dual]
    return args


def communicator():
    """MPI.COMM_WORLD, with the cores shared out between the ranks of this machine (BLAS's
    threads, through threadpoolctl: NumPy and SciPy each load their own BLAS)."""
    try:
        from mpi4py import MPI
        from threadpoolctl import threadpool_limits
    except ImportError as error:
        raise ValueError("--distributed needs mpi4py: pip install -e '.[mpi]', then run "
                         "mpiexec -n 2 python examples/train_cat_classifier.py --distributed") \
            from error
    comm = MPI.COMM_WORLD
    if comm.Get_size() == 1:
        raise ValueError("--distributed: this is the only MPI rank (the script was not started "
                         "by mpiexec); start several: mpiexec -n 2 python "
                         "examples/train_cat_classifier.py --distributed")
    local = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_size()  # ranks on this machine
    threadpool_limits(max(1, (os.cpu_count() or 1) // local), user_api="blas")
    return comm


def build(args, preset) -> fastnn.Sequential:
    layers = [fastnn.Dense(units, activation="relu") for units in preset["hidden"]]
    layers.append(fastnn.Dense(1, activation="sigmoid"))
    return fastnn.Sequential(layers, input_dim=12288, init=preset["init"], seed=args.seed,
                             dtype=args.dtype)


def plot_curve(history, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(history.history["loss"])
    axis.set_xlabel("iteration")
    axis.set_ylabel("cost (binary cross-entropy)")
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None) -> dict:
    args = parse_args(argv)
    preset = PRESETS[args.model]
    epochs = preset["epochs"] if args.epochs is None else args.epochs
    lr = preset["lr"] if args.lr is None else args.lr
    backend = args.backend
    fastnn.checks.positive_int("--epochs", epochs, allow_zero=True)  # before any work
    fastnn.SGD(lr=lr)
    if args.batch_size is not None:
        fastnn.checks.positive_int("--batch-size", args.batch_size)
    for flag, path in (("--save", args.save), ("--metrics-json", args.metrics_json),
                       ("--plot", args.plot)):
        check_output(flag, path)
    check_matplotlib("--plot", args.plot)

    comm = communicator() if args.distributed else None
    say = print if comm is None or comm.Get_rank() == 0 else (lambda *_, **__: None)
    (X_train, y_train), (X_test, y_test), classes = load_cat(args, dtype=args.dtype)
    model = build(args, preset)
    sizes = [12288] + [layer.units for layer in model.layers]
    plan = model.plan(X_train, epochs, args.batch_size, fastnn.SGD(lr=lr), backend,
                      False if comm else args.dual)
    options = {"loss": "bce", "batch_size": args.batch_size, "backend": backend,
               "shuffle": args.batch_size is not None, "dual": plan.dual, "comm": comm}
    how = f"{plan.backend} ({plan.row}{'; ' + plan.why if plan.why else ''})" \
        if comm is None else f"{plan.backend}, data-parallel on {comm.Get_size()} MPI ranks"
    say(f"cat classifier: {args.model} {sizes}, {epochs} iterations, lr {lr}, "
        f"batch {args.batch_size or 'full'}, {how}, {args.dtype}; "
        f"{len(X_train)} training and {len(X_test)} test images")
    start = time.perf_counter()
    model.fit(X_train, y_train, optimizer=fastnn.SGD(lr=lr), epochs=epochs, seed=args.seed,
              verbose=0 if args.quiet else 1, log_every=args.log_every, **options)
    seconds = time.perf_counter() - start
    if "switch" in model.history.params:
        epoch, row = model.history.params["switch"]
        say(f"switched to numba ({row}) after {epoch} iterations: its kernels were compiled "
            f"in the background")
    backend = model.history.params["backend"]
    train = model.evaluate(X_train, y_train, backend=args.backend)
    test = model.evaluate(X_test, y_test, backend=args.backend)
    losses = model.history.history.get("loss", [])
    metrics = {
        "model": args.model, "backend": backend, "dtype": args.dtype, "epochs": epochs,
        "lr": lr, "batch_size": args.batch_size, "train_accuracy": train["accuracy"],
        "test_accuracy": test["accuracy"],
        "final_loss": losses[-1] if losses else train["loss"],
        "train_loss": train["loss"], "test_loss": test["loss"], "seconds": seconds,
        "ms_per_iteration": 1000 * seconds / epochs if epochs else None,
    }
    per_iteration = f" ({metrics['ms_per_iteration']:.2f} ms per iteration)" if epochs else ""
    say(f"train accuracy: {100 * train['accuracy']:.1f} %   test accuracy: "
        f"{100 * test['accuracy']:.1f} %   final cost: {metrics['final_loss']:.6f}   "
        f"{seconds:.2f} s{per_iteration}")
    if comm is not None and comm.Get_rank() != 0:
        return metrics  # (the other ranks hold the same model: rank 0 writes it)
    if args.save:
        model.save(args.save)
        print(f"model saved to {args.save}")
    if args.metrics_json:
        tmp = args.metrics_json + ".tmp"
        with open(tmp, "w") as file:
            json.dump(metrics, file, indent=2)
        os.replace(tmp, args.metrics_json)
        print(f"metrics written to {args.metrics_json}")
    if args.plot:
        plot_curve(model.history, args.plot, f"{args.model}, lr {lr}, {classes[1]} vs {classes[0]}")
        print(f"learning curve saved to {args.plot}")
    return metrics


if __name__ == "__main__":
    run(main)
