"""The benchmark workloads, one table for the suite and the report.

Each workload has rows (``runners``): a label, and a function of the dtype that returns a
``Case``: the callable that runs one unit of work, its FLOPs and the samples it covers. Labels
are backends ("loop", "numpy", "numba"), a fit in the primal form ("numba primal"), what
``backend="auto"`` picks ("auto"), "course": the Coursera course's own plain NumPy code for the
deep cat model, "blas floor": the dual cat fit's products alone, or "pytorch": the same epoch in
PyTorch CPU (skipped where torch is not installed). Kernel workloads time what a
fit runs per epoch (``train_epochs``, inputs prepared once as fit does); fit workloads time
``fit`` itself, end to end (the dual form's Gram matrix included), after a one-epoch fit that
compiles what it needs. The loop backend runs the cat kernels on ``LOOP_SAMPLES`` samples only;
the report scales its time per sample.
"""

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse

import fastnn
from fastnn import backends, datasets
from fastnn.activations import ACTIVATIONS
from fastnn.initializers import initial_weights
from fastnn.losses import LOSSES
from fastnn.network import Batches, Net, Objective, layer_views

CAT_SIZES = (12288, 20, 7, 5, 1)
CAT_ACTS = ("relu", "relu", "relu", "sigmoid")
LOOP_SAMPLES = int(os.environ.get("FASTNN_BENCH_LOOP_SAMPLES", "2"))
# Steps of the whole cat fit (the course's 2500; fewer for a smoke run of the suite).
FIT_EPOCHS = int(os.environ.get("FASTNN_BENCH_FIT_EPOCHS", "2500"))
_cache: dict = {}


@dataclass
class Case:
    run: Callable  # one unit of work
    flops: float | None  # of the unit, for GFLOP/s (None: not reported, e.g. a whole fit)
    samples: int  # the samples the unit covers (fewer than the workload's for the loop backend)
    full_samples: int
    data: str
    rounds: int = 20  # timed rounds
    warm: Callable | None = None  # compiles and warms up instead of running ``run`` untimed
    setup: Callable | None = None  # runs before each timed round, untimed


def cat_data(dtype):
    """The 209 cat training images (real files if found, else random pixels of the same shape)."""
    key = ("cat", dtype)
    if key not in _cache:
        try:
            (X, y), _, _ = datasets.load_cat(dtype=dtype, download=False)
            source = "cat files"
        except (FileNotFoundError, ValueError):
            rng = np.random.default_rng(0)
            X = (rng.integers(0, 256, (209, 12288)) / 255).astype(dtype)
            y = rng.integers(0, 2, 209)
            source = "random stand-in (cat files not found)"
        _cache[key] = (np.ascontiguousarray(X), y.reshape(-1, 1).astype(dtype), source)
    return _cache[key]


def network(sizes, acts):
    return Net(np.array(sizes, dtype=np.int64),
               np.array([ACTIVATIONS[a] for a in acts], dtype=np.int64),
               np.ones(len(acts), dtype=np.int64), 0)


def dense_flops(sizes, m, backward=True):
    """2 m n_in n_out per product: forward, dW, and dX for all but the first layer."""
    forward = sum(2 * m * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if not backward:
        return forward
    input_grads = sum(2 * m * a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return 2 * forward + input_grads


def _samples(name, m):
    return min(m, LOOP_SAMPLES) if name == "loop" else m


# ---------------------------------------------------------------- kernels, as fit runs them

def _first_layer(name, dtype):
    """``(kernels, X, m, source)``: the cat inputs as fit lays them out (``prepare_inputs``),
    m of them (a few for the loop backend)."""
    X, _, source = cat_data(dtype)
    m = _samples(name, X.shape[0])
    kernels = backends.get(name)
    return kernels, kernels.prepare_inputs(np.ascontiguousarray(X[:m])), m, source


def dense_forward(name):
    def case(dtype):
        """The first cat layer's forward pass."""
        kernels, X, m, source = _first_layer(name, dtype)
        W, b = layer_views(initial_weights("lecun", CAT_SIZES[:2], 1, dtype), CAT_SIZES[:2])[0]
        relu = ACTIVATIONS["relu"]
        return Case(lambda: kernels.dense_forward(X, W, b, relu), 2 * m * 12288 * 20, m, 209,
                    source, rounds=3 if name == "loop" else 20)
    return case


def dense_backward(name):
    def case(dtype):
        """The first cat layer's weight gradient (dW, db)."""
        kernels, X, m, source = _first_layer(name, dtype)
        W = np.ascontiguousarray(np.random.default_rng(1).normal(size=(12288, 20)).astype(dtype))
        dZ = np.random.default_rng(2).normal(size=(m, 20)).astype(dtype)
        return Case(lambda: kernels.dense_backward(dZ, X, W, False), 2 * m * 12288 * 20, m, 209,
                    source, rounds=3 if name == "loop" else 20)
    return case


def _epochs(name, dtype, X, Y, sizes, acts, batch_size, shuffle_seed=None, optimizer=None):
    """One epoch of ``train_epochs`` as a fit runs it."""
    kernels = backends.get(name)
    flat = initial_weights("lecun", sizes, 1, dtype)
    net = network(sizes, acts)
    rule = (optimizer or fastnn.SGD(lr=0.0075)).bind(flat)
    n = X.shape[0]
    order = (np.arange(n) if shuffle_seed is None
             else np.random.RandomState(shuffle_seed).permutation(n))
    orders, out = order.reshape(1, -1), np.zeros((1, 2))
    objective = Objective(LOSSES["cce" if acts[-1] == "softmax" else "bce"], 0.0, np.empty(0))
    inputs = kernels.prepare_inputs(X)  # once, as fit does
    batches = Batches(inputs, Y, orders, batch_size)
    return lambda: kernels.train_epochs(flat, net, objective, batches, rule, out)


def cat_step(name):
    def case(dtype):
        """One full-batch gradient-descent step of the deep cat model (the primal form)."""
        X, Y, source = cat_data(dtype)
        m = _samples(name, X.shape[0])
        run = _epochs(name, dtype, X[:m], Y[:m], CAT_SIZES, CAT_ACTS, m)
        return Case(run, dense_flops(CAT_SIZES, m), m, 209, source,
                    rounds=3 if name == "loop" else 20)
    return case


def cat_epoch_minibatch(name):
    def case(dtype):
        """One epoch of mini-batch (64) SGD over the 209 images, shuffled."""
        X, Y, source = cat_data(dtype)
        m = _samples(name, X.shape[0])
        run = _epochs(name, dtype, X[:m], Y[:m], CAT_SIZES, CAT_ACTS, 64, shuffle_seed=0)
        return Case(run, dense_flops(CAT_SIZES, m), m, 209, source,
                    rounds=3 if name == "loop" else 20)
    return case


def planar_epoch_per_sample(name):
    def case(dtype):
        """One epoch of per-sample SGD of the 2-4-1 tanh/sigmoid net on the 400 planar points."""
        X, y = datasets.make_planar(400, seed=1)
        X, Y = X.astype(dtype), y.reshape(-1, 1).astype(dtype)
        run = _epochs(name, dtype, X, Y, (2, 4, 1), ("tanh", "sigmoid"), 1,
                      shuffle_seed=0)
        return Case(run, dense_flops((2, 4, 1), 400), 400, 400, "make_planar(400, seed=1)")
    return case


def spiral_epoch(name, batch_size):
    def case(dtype):
        """One epoch of the spiral example's 2-100-3 ReLU/softmax net (300 points, momentum)."""
        X, y = datasets.make_spiral(100, 3, seed=0)
        X, Y = X.astype(dtype), np.eye(3, dtype=dtype)[y]
        run = _epochs(name, dtype, X, Y, (2, 100, 3), ("relu", "softmax"), batch_size,
                      shuffle_seed=0, optimizer=fastnn.SGD(0.1, momentum=0.9))
        return Case(run, dense_flops((2, 100, 3), 300), 300, 300, "make_spiral(100, 3, seed=0)")
    return case


# ---------------------------------------------------------------- whole fits, as users run them

def _cat_model(dtype):
    layers = [fastnn.Dense(n, activation=a) for n, a in zip(CAT_SIZES[1:], CAT_ACTS)]
    return fastnn.Sequential(layers, input_dim=12288, init="lecun", seed=1, dtype=dtype)


def cat_fit(name, dual):
    def case(dtype):
        """The cat script's fit: FIT_EPOCHS full-batch SGD steps, lr 0.0075, through ``fit``."""
        X, Y, source = cat_data(dtype)

        def run(epochs=FIT_EPOCHS):
            _cat_model(dtype).fit(X, Y, loss="bce", optimizer=fastnn.SGD(lr=0.0075),
                                  epochs=epochs, shuffle=False, backend=name, dual=dual)
        return Case(run, None, 209, 209, source, rounds=3 if dual else 1,
                    warm=lambda: run(epochs=1 if not dual else 3))
    return case


def course_cat_fit(dtype):
    """The course's own code (Coursera, L-layer model): plain NumPy, layer by layer."""
    X, Y, source = cat_data(dtype)
    start = _cat_model(dtype).get_weights()

    def run(epochs=FIT_EPOCHS, lr=0.0075):
        W, m = [w.copy() for w in start], X.shape[0]
        for _ in range(epochs):
            A, Z = [X], []
            for layer in range(4):
                Z.append(A[-1] @ W[2 * layer] + W[2 * layer + 1])
                A.append(np.maximum(Z[-1], 0) if layer < 3 else 1 / (1 + np.exp(-Z[-1])))
            dZ = (A[-1] - Y) / m
            for layer in range(3, -1, -1):
                dW, db = A[layer].T @ dZ, dZ.sum(axis=0)
                if layer:
                    dZ = (dZ @ W[2 * layer].T) * (Z[layer - 1] > 0)
                W[2 * layer] -= lr * dW
                W[2 * layer + 1] -= lr * db
    return Case(run, None, 209, 209, source, rounds=1, warm=lambda: run(epochs=2))


STREAM_ROWS = int(os.environ.get("FASTNN_BENCH_STREAM_ROWS", "24000"))


def stream_epoch(where):
    def case(dtype):
        """One epoch through ``fit`` of a 2000-64-1 ReLU/sigmoid net, batches of 256, on
        STREAM_ROWS x 2000 synthetic samples: in memory, or read from an HDF5 file (chunks of
        256 rows) window by window."""
        import tempfile

        import h5py

        key = ("stream", dtype)
        if key not in _cache:
            rng = np.random.default_rng(0)
            X = rng.normal(size=(STREAM_ROWS, 2000)).astype(dtype)
            y = (X @ rng.normal(size=2000) > 0).astype(int)
            folder = tempfile.mkdtemp()
            with h5py.File(f"{folder}/stream.h5", "w") as file:
                file.create_dataset("X", data=X, chunks=(256, 2000))
            _cache[key] = X, y, h5py.File(f"{folder}/stream.h5", "r")["X"]
        X, y, dataset = _cache[key]
        model = fastnn.Sequential([fastnn.Dense(64, activation="relu"),
                                   fastnn.Dense(1, activation="sigmoid")],
                                  input_dim=2000, seed=0, dtype=dtype)
        source = X if where == "in memory" else dataset

        def run():
            model.fit(source, y, loss="bce", optimizer=fastnn.Adam(), epochs=1, batch_size=256)
        return Case(run, dense_flops((2000, 64, 1), STREAM_ROWS), STREAM_ROWS, STREAM_ROWS,
                    "synthetic", rounds=5)
    return case


# (workload, sizes, activations, loss, samples, batch, optimizer): nets trained through fit, one
# epoch a round, on synthetic data, against the numpy backend and PyTorch CPU.
SHAPES = {
    "mnist_epoch": ((784, 128, 10), ("relu", "softmax"), "cce", 10000, 64, "adam"),
    "mnist_epoch_batch256": ((784, 128, 10), ("relu", "softmax"), "cce", 10000, 256, "adam"),
    "spiral_epoch_minibatch32": ((2, 100, 3), ("relu", "softmax"), "cce", 300, 32, "sgd"),
    "small_epoch_batch32": ((100, 64, 10), ("relu", "softmax"), "cce", 2000, 32, "adam"),
    "deep_epoch_batch128": ((256, 256, 256, 1), ("relu", "relu", "sigmoid"), "bce", 4000, 128,
                            "momentum"),
    "wide_epoch_batch512": ((3000, 200, 1), ("relu", "linear"), "mse", 4000, 512, "adam"),
}
OPTIMIZERS = {"adam": lambda: fastnn.Adam(), "sgd": lambda: fastnn.SGD(0.1),
              "momentum": lambda: fastnn.SGD(0.01, momentum=0.9)}


def _shape_data(workload, dtype):
    sizes, _, loss, n, _, _ = SHAPES[workload]
    key = (workload, dtype)
    if key not in _cache:
        rng = np.random.default_rng(0)
        X = rng.random((n, sizes[0])).astype(dtype)
        if loss == "cce":
            y = rng.integers(0, sizes[-1], n)
        elif loss == "bce":
            y = rng.integers(0, 2, n)
        else:
            y = rng.normal(size=n).astype(dtype)
        _cache[key] = X, y
    return _cache[key]


def shape_epoch(workload, name):
    def case(dtype):
        """One epoch through ``fit`` of a SHAPES net (shuffled batches) on ``name``."""
        sizes, acts, loss, n, batch, opt = SHAPES[workload]
        X, y = _shape_data(workload, dtype)
        model = fastnn.Sequential([fastnn.Dense(u, activation=a) for u, a in zip(sizes[1:], acts)],
                                  input_dim=sizes[0], seed=0, dtype=dtype)
        optimizer = OPTIMIZERS[opt]()

        def run():
            model.fit(X, y, loss=loss, optimizer=optimizer, epochs=1, batch_size=batch,
                      backend=name, dual=False)
        return Case(run, dense_flops(sizes, n), n, n, "synthetic", rounds=5)
    return case


def torch_epoch(workload):
    def case(dtype):
        """The same epoch in PyTorch CPU (same net, batches, optimizer and threads): a
        comparison that runs where torch is installed, never a dependency."""
        import pytest

        torch = pytest.importorskip("torch")
        torch.set_num_threads(os.cpu_count() or 1)
        sizes, acts, loss, n, batch, opt = SHAPES[workload]
        X, y = _shape_data(workload, dtype)
        tdtype = getattr(torch, dtype)
        modules = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
        layers = []
        for n_in, n_out, act in zip(sizes[:-2], sizes[1:-1], acts[:-1]):
            layers += [torch.nn.Linear(n_in, n_out), modules[act]()]
        layers.append(torch.nn.Linear(sizes[-2], sizes[-1]))  # the output: logits, fused below
        net = torch.nn.Sequential(*layers).to(tdtype)
        Xt = torch.from_numpy(X)
        if loss == "cce":
            yt, criterion = torch.from_numpy(y), torch.nn.CrossEntropyLoss()  # (from logits)
        elif loss == "bce":
            yt, criterion = torch.from_numpy(y.astype(dtype)).reshape(-1, 1), \
                torch.nn.BCEWithLogitsLoss()
        else:
            yt, criterion = torch.from_numpy(y).reshape(-1, 1), torch.nn.MSELoss()
        params = net.parameters()
        optimizer = {"adam": lambda: torch.optim.Adam(params, lr=0.001),
                     "sgd": lambda: torch.optim.SGD(params, lr=0.1),
                     "momentum": lambda: torch.optim.SGD(params, lr=0.01, momentum=0.9)}[opt]()

        def run():
            order = torch.randperm(n)
            for start in range(0, n, batch):
                rows = order[start:start + batch]
                optimizer.zero_grad()
                criterion(net(Xt[rows]), yt[rows]).backward()
                optimizer.step()
        return Case(run, dense_flops(sizes, n), n, n, "synthetic", rounds=5)
    return case


def mnist_variant(label):
    def case(dtype):
        """One epoch through ``fit`` of the mnist-shape net on numba: Adam as in mnist_epoch
        ("adam"), with a Dropout(0.2) after its hidden layer, or another optimizer (Keras'
        defaults): what each addition beyond scikit-learn's MLP costs an epoch."""
        sizes, acts, loss, n, batch, _ = SHAPES["mnist_epoch"]
        X, y = _shape_data("mnist_epoch", dtype)
        dropout = [fastnn.Dropout(0.2)] if label == "adam dropout 0.2" else []
        model = fastnn.Sequential([fastnn.Dense(sizes[1], activation=acts[0]), *dropout,
                                   fastnn.Dense(sizes[2], activation=acts[1])],
                                  input_dim=sizes[0], seed=0, dtype=dtype)
        optimizer = fastnn.optimizers.get(label.split()[0])

        def run():
            model.fit(X, y, loss=loss, optimizer=optimizer, epochs=1, batch_size=batch,
                      backend="numba", dual=False)
        return Case(run, dense_flops(sizes, n), n, n, "synthetic", rounds=5)
    return case


def planar_fit_per_sample(name):
    def case(dtype):
        """``fit`` of the planar 2-4-1 net, per-sample SGD, 5 epochs a call (a fit's fixed
        costs count)."""
        X, y = datasets.make_planar(400, seed=1)
        X = X.astype(dtype)
        model = fastnn.Sequential([fastnn.Dense(4, activation="tanh"),
                                   fastnn.Dense(1, activation="sigmoid")],
                                  input_dim=2, seed=1, dtype=dtype)

        def run():
            model.fit(X, y, loss="bce", optimizer=fastnn.SGD(1.2), epochs=5, batch_size=1,
                      backend=name)
        return Case(run, dense_flops((2, 4, 1), 2000), 2000, 2000, "make_planar(400, seed=1)",
                    rounds=5 if name == "numpy" else 20)
    return case


def cat_blas_floor(dtype):
    """The dual cat fit's floor: G = X X^T once, then FIT_EPOCHS products of the dual first
    layer, (209 x 249) @ (249 x 20), by NumPy's BLAS with ``out``."""
    X, _, source = cat_data(dtype)
    D = np.random.default_rng(0).random((209, 249)).astype(dtype)
    C = np.random.default_rng(1).random((249, 20)).astype(dtype)
    Z = np.empty((209, 20), dtype)

    def run():
        np.dot(X, X.T)
        for _ in range(FIT_EPOCHS):
            np.dot(D, C, Z)
    return Case(run, None, 209, 209, source, rounds=3)


# scikit-learn's settings of examples/sklearn_comparison.py: full-batch SGD with Nesterov's
# momentum and the L2 penalty (fastnn trains in the dual form).
ESTIMATOR_SETTINGS = {"hidden_layer_sizes": (20, 7, 5), "solver": "sgd",
                      "learning_rate_init": 0.0075, "momentum": 0.9, "nesterovs_momentum": True,
                      "alpha": 1e-4, "batch_size": 209, "tol": 0.0, "random_state": 1}


def estimator_cat_fit(which):
    def case(dtype):
        """``MLPClassifier.fit`` on the cat data, FIT_EPOCHS iterations with
        ESTIMATOR_SETTINGS: fastnn's estimator and scikit-learn's (a comparison that runs
        where scikit-learn is installed)."""
        import pytest

        pytest.importorskip("sklearn")
        if which == "fastnn":
            from fastnn.estimators import MLPClassifier
        else:
            from sklearn.neural_network import MLPClassifier
        X, Y, source = cat_data(dtype)
        y = Y.ravel().astype(int)

        def run(epochs=FIT_EPOCHS):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (ConvergenceWarning: max_iter reached)
                MLPClassifier(max_iter=epochs, n_iter_no_change=epochs,
                              **ESTIMATOR_SETTINGS).fit(X, y)
        return Case(run, None, 209, 209, source, rounds=3 if which == "fastnn" else 1,
                    warm=lambda: run(epochs=2))
    return case


SPARSE = (2000, 10000, 0.005)  # samples, features, the share of nonzeros


def sparse_epoch(label):
    def case(dtype):
        """One epoch through ``fit`` of a 10000-64-1 ReLU/sigmoid net, Adam, batches of 128, on
        2000 sparse samples (0.5 % nonzeros, CSR): numba and numpy on the sparse X, and numba
        on the same X made dense."""
        n, n_in, density = SPARSE
        key = ("sparse", dtype)
        if key not in _cache:
            X = scipy.sparse.random(n, n_in, density=density, format="csr", random_state=0,
                                    dtype=dtype)
            y = (X @ np.random.default_rng(0).normal(size=n_in) > 0).astype(int)
            _cache[key] = X, X.toarray(), y
        X, dense, y = _cache[key]
        model = fastnn.Sequential([fastnn.Dense(64, activation="relu"),
                                   fastnn.Dense(1, activation="sigmoid")],
                                  input_dim=n_in, seed=0, dtype=dtype)

        def run():
            model.fit(dense if label == "numba dense" else X, y, loss="bce",
                      optimizer=fastnn.Adam(), epochs=1, batch_size=128,
                      backend=label.split()[0])
        return Case(run, None, n, n, f"scipy.sparse.random, density {density}", rounds=5)
    return case


# The digits-shape net of scikit-learn's users' everyday fit: 64-100-10, 1347 samples, batches
# of 200, Adam (issue "one BLAS in the process": its floor, and the two BLAS pools' fight).
DIGITS = (64, 100, 10), 1347, 200


def _digits(dtype):
    (sizes, n, _), key = DIGITS, ("digits", dtype)
    if key not in _cache:
        rng = np.random.default_rng(0)
        _cache[key] = rng.random((n, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], n)
    return _cache[key]


def _digits_fit(name, dtype, epochs=1):
    """A fit of the digits-shape net on ``name``, ``epochs`` epochs a call."""
    (sizes, n, batch) = DIGITS
    X, y = _digits(dtype)
    model = fastnn.Sequential([fastnn.Dense(sizes[1], activation="relu"),
                               fastnn.Dense(sizes[2], activation="softmax")],
                              input_dim=sizes[0], seed=0, dtype=dtype)
    optimizer = fastnn.Adam()
    return lambda: model.fit(X, y, loss="cce", optimizer=optimizer, epochs=epochs,
                             batch_size=batch, backend=name, dual=False)


def _digits_products(dtype):
    """The five products of each batch of a digits-shape epoch, by NumPy with ``out``:
    X W1, A1 W2 forward; A1^T dZ2, dZ2 W2^T, X^T dZ1 backward."""
    (n_in, n_1, k), n, batch = DIGITS
    rng = np.random.default_rng(1)
    X, W1, W2 = (rng.random(shape).astype(dtype) for shape in ((batch, n_in), (n_in, n_1),
                                                              (n_1, k)))
    A1, dZ1, Z2 = np.empty((batch, n_1), dtype), np.empty((batch, n_1), dtype), \
        np.empty((batch, k), dtype)
    dW1, dW2 = np.empty_like(W1), np.empty_like(W2)
    batches = -(-n // batch)

    def run():
        for _ in range(batches):
            np.dot(X, W1, A1)
            np.dot(A1, W2, Z2)
            np.dot(A1.T, Z2, dW2)
            np.dot(Z2, W2.T, dZ1)
            np.dot(X.T, dZ1, dW1)
    return run


def digits_epoch(label):
    def case(dtype):
        """One epoch through ``fit`` of the digits-shape net (``DIGITS``), on numpy or numba;
        "floor": its products alone (``_digits_products``)."""
        (sizes, n, _) = DIGITS
        run = _digits_products(dtype) if label == "floor" else _digits_fit(label, dtype)
        return Case(run, dense_flops(sizes, n), n, n, "synthetic", rounds=20)
    return case


BLAS_IDLE = 0.3  # seconds after which idle BLAS threads have stopped spinning


def interference(target, label):
    def case(dtype):
        """Right after the other's BLAS work, or alone (after a pause): ``target`` "fit" is a
        20-epoch compiled fit of the digits-shape net, "numpy" 20 epochs' worth of its
        products by NumPy. The other's work runs untimed before each round."""
        fit, products = _digits_fit("numba", dtype, 20), _digits_products(dtype)

        def products_20():
            for _ in range(20):
                products()
        run, other = (fit, products_20) if target == "fit" else (products_20, fit)
        setup = (lambda: time.sleep(BLAS_IDLE)) if label == "alone" else (lambda: other() and None)
        (sizes, n, _) = DIGITS
        return Case(run, 20 * dense_flops(sizes, n), 20 * n, 20 * n, "synthetic", rounds=10,
                    warm=lambda: (fit(), products_20()), setup=setup)
    return case


def startup(case, label):
    def make(dtype):
        """A fresh process as a user starts it (``startup.py``): the cat script's wall time, or
        the digits estimator fit's time, on a new empty Numba cache or a warm one; the compile
        of the main plan's kernel set (float64, dense X). float64 only."""
        import pytest
        import startup as fresh

        if dtype != "float64":
            pytest.skip("a whole process: float64 only")
        if case == "digits_estimator_fit":
            pytest.importorskip("sklearn")
        warm = _cache.setdefault("warm cache", fresh.warm_cache()) if label != "compile" \
            else None
        command, _, env, _ = fresh.cases(warm)[{"main_command": "main",
                                                  "digits_estimator_fit": "digits",
                                                  "compile": "compile"}[case]][label]
        cache = warm if label in ("warm cache", "scikit-learn", "load") else None
        # (a process's wall time is timed; a background compile it starts runs on, waited for
        # before the next round: the setup)
        return Case(lambda: fresh.run(command, cache, env, wait=False), None, 1, 1,
                    "fresh processes", rounds=3, warm=lambda: None, setup=fresh.wait_for_used)
    return make


BACKENDS = backends.NAMES
WORKLOADS = {
    "dense_forward": {name: dense_forward(name) for name in BACKENDS},
    "dense_backward": {name: dense_backward(name) for name in BACKENDS},
    "cat_step": {name: cat_step(name) for name in BACKENDS},
    "cat_epoch_minibatch64": {name: cat_epoch_minibatch(name) for name in BACKENDS},
    "planar_epoch_per_sample": {name: planar_epoch_per_sample(name) for name in BACKENDS},
    "planar_fit_per_sample": {name: planar_fit_per_sample(name) for name in ("numpy", "numba")},
    "spiral_epoch_per_sample": {name: spiral_epoch(name, 1) for name in ("numpy", "numba")},
    "cat_fit": {"course": course_cat_fit, "blas floor": cat_blas_floor,
                "numpy primal": cat_fit("numpy", False), "numpy": cat_fit("numpy", "auto"),
                "numba primal": cat_fit("numba", False), "numba": cat_fit("numba", "auto")},
    **{workload: {"numpy": shape_epoch(workload, "numpy"), "numba": shape_epoch(workload, "numba"),
                  "auto": shape_epoch(workload, "auto"), "pytorch": torch_epoch(workload)}
       for workload in SHAPES},
    "mnist_epoch_additions": {label: mnist_variant(label) for label in (
        "adam", "adam dropout 0.2", "adamw", "nadam", "rmsprop", "adagrad")},
    "stream_epoch": {"in memory": stream_epoch("in memory"), "hdf5": stream_epoch("hdf5")},
    "estimator_cat_fit": {"scikit-learn": estimator_cat_fit("scikit-learn"),
                          "fastnn": estimator_cat_fit("fastnn")},
    "sparse_epoch": {"numpy": sparse_epoch("numpy"), "numba": sparse_epoch("numba"),
                     "numba dense": sparse_epoch("numba dense")},
    "digits_epoch": {"floor": digits_epoch("floor"), "numpy": digits_epoch("numpy"),
                     "numba": digits_epoch("numba")},
    "fit_after_numpy": {"alone": interference("fit", "alone"),
                        "after numpy": interference("fit", "after")},
    "numpy_after_fit": {"alone": interference("numpy", "alone"),
                        "after a fit": interference("numpy", "after")},
    "main_command": {"empty cache": startup("main_command", "empty cache"),
                     "warm cache": startup("main_command", "warm cache")},
    "digits_estimator_fit": {"scikit-learn": startup("digits_estimator_fit", "scikit-learn"),
                             "empty cache": startup("digits_estimator_fit", "empty cache"),
                             "warm cache": startup("digits_estimator_fit", "warm cache")},
    "compile": {"compile": startup("compile", "compile")},
}
