"""The numba backend: the contract's functions, running the compiled kernels of
``_numba_kernels``.

One engine: ``train_epochs`` runs whole epochs (every batch, layer and update) in one compiled
call, a batch at a time, its products through BLAS from inside the compiled code (NumPy's own
dgemm/sgemm, ``_blas``: one BLAS thread pool in the process). ``forward``, ``evaluate`` and
``loss_and_gradients`` run the same batch step. The one-layer functions of the contract are
thin wrappers that allocate the outputs.

The kernels come in sets, one per dtype and kind of X (``fastnn.compiling``). Before a set's
first use in a process, ``ready`` makes sure it will not compile in silence: a set that is not
cached compiles here, whole, after one line on stderr (or, with ``FASTNN_COMPILE=off``, is an
error), and its marker is written once every kernel of it is saved.
"""

import sys
import time
from typing import NamedTuple

import numpy as np

from .. import compiling
from ..network import Batches, Net, Objective, Rule, aligned, issparse
from . import _numba_cache
from . import _numba_kernels as kernels
from ._numpy import gram  # noqa: F401 (the contract's: BLAS once per fit, no kernel to compile)


class CSR(NamedTuple):
    """Sparse X as the kernels read it: SciPy's compressed rows (row i's nonzeros are
    ``data[indptr[i]:indptr[i + 1]]`` in the columns ``indices[...]``)."""

    data: np.ndarray  # (nnz,) the model's dtype
    indices: np.ndarray  # int64 (nnz,)
    indptr: np.ndarray  # int64 (n_samples + 1,)


def _c(array, dtype=None):
    return np.ascontiguousarray(array, dtype=dtype)


def _inputs(X, dtype):
    """X as the kernels take it: a C-contiguous array, or a CSR record for sparse X."""
    if isinstance(X, CSR):
        return X
    if issparse(X):
        X = X.tocsr()
        return CSR(_c(X.data, dtype), _c(X.indices, np.int64), _c(X.indptr, np.int64))
    return _c(X, dtype)


_ready_sets: set = set()  # the sets this process has made ready


def _ready(flat, X) -> None:
    """Make the set that computes with flat on X ready to run: nothing if loaded, or cached
    (Numba loads it at the first call); else compiled here, whole, saying so on stderr."""
    name = compiling.kernel_set(flat.dtype, isinstance(X, CSR) or issparse(X))
    if name in _ready_sets:
        return
    if compiling.state(name) == "missing":
        if compiling.mode() == "off":
            raise RuntimeError(f"backend 'numba': its kernels for {name} X are not compiled, and "
                               f"FASTNN_COMPILE=off forbids compiling them (run python -m "
                               f"fastnn compile, or use backend='auto')")
        folder = compiling.cache_folder()
        where = f"cached in {folder}" if compiling.writable() else \
            "not cached: no writable cache folder (set NUMBA_CACHE_DIR)"
        print(f"fastnn: compiling the numba kernels for {name} X (about "
              f"{compiling.COMPILE_SECONDS:.0f} s, once; {where})", file=sys.stderr, flush=True)
        compile_kernels(name)
    compiling.mark_loaded(name)
    _ready_sets.add(name)


def prepare_inputs(X):
    """X as the kernels read it fastest: C-contiguous and aligned (copied once per fit if it
    is not); sparse X as a CSR record."""
    return _inputs(X, X.dtype) if issparse(X) else aligned(X)


def take_rows(X, rows):
    """The batch X[rows] (a copy; sparse X stays sparse)."""
    return X[rows] if issparse(X) else _c(X[rows])


def dropout_scales(key, step, layer, first, rate, M):
    """M (m, n) = each unit's factor, 0 or 1 / (1 - rate), at batch positions first, ...
    (``fastnn.dropout``'s generator, compiled)."""
    kernels.dropout_scales(int(key), int(step), int(layer), int(first), float(rate), M)


def dense_forward(X, W, b, act):
    """Z = X @ W + b;  A = act(Z).  X (m, n_in), dense or sparse -> Z, A (m, n_out)."""
    W = _c(W)
    m, X = X.shape[0], _inputs(X, W.dtype)
    Z = np.empty((m, W.shape[1]), W.dtype)
    A = np.empty_like(Z)
    kernels.dense_forward(X, W, _c(b, W.dtype), act, Z, A)
    return Z, A


def activation_backward(act, Z, A, dA):
    """dZ = dA * f'(Z); for softmax dZ_j = A_j (dA_j - sum_k dA_k A_k).  All (m, n)."""
    dZ = np.array(dA, order="C")
    kernels.activation_backward(act, _c(Z), _c(A), dZ)
    return dZ


def dense_backward(dZ, X, W, need_dX):
    """dW = X.T @ dZ;  db = column sums of dZ;  dX = dZ @ W.T (only if need_dX)."""
    W = _c(W)
    dZ, X = _c(dZ, W.dtype), _inputs(X, W.dtype)
    dW, db = np.empty_like(W), np.empty(W.shape[1], W.dtype)
    dX = np.empty((dZ.shape[0] if need_dX else 0, W.shape[0]), W.dtype)
    kernels.dense_backward(dZ, X, W, dW, db, dX)
    return (dX if need_dX else None), dW, db


def dual_backward(dZ, rows, W):
    """dW = 0 but dW[rows[r]] += dZ[r];  db = column sums of dZ (a first layer in the dual
    form)."""
    dW, db = np.empty_like(W), np.empty(W.shape[1], W.dtype)
    kernels.dual_backward(_c(dZ, W.dtype), _c(rows, np.int64), dW, db)
    return dW, db


def _sample_weights(weights, m):
    """The batch's sample weights as the kernels take them: float64 (m,), or empty (all 1)."""
    return np.empty(0) if weights is None else _c(weights, np.float64).reshape(m)


def loss_value(loss, act, Z, A, Y, sample_weights=None):
    """The loss of a batch (see ``fastnn.losses``); bce, cce and poisson from the logits when
    fused."""
    empty = np.empty((0, A.shape[1]), A.dtype)
    return float(kernels.loss_and_deltas(loss, act, _c(Z), _c(A), _c(Y, A.dtype),
                                          _sample_weights(sample_weights, A.shape[0]), empty)[0])


def output_delta(loss, act, Z, A, Y, sample_weights=None):
    """dL/dZ of the output layer: w (A - Y) / scale for the fused pairs, else dL/dA through
    f'."""
    dZ = np.empty(A.shape, A.dtype)
    kernels.loss_and_deltas(loss, act, _c(Z), _c(A), _c(Y, A.dtype),
                             _sample_weights(sample_weights, A.shape[0]), dZ)
    return dZ


def correct_count(loss, A, Y):
    """bce: outputs on the right side of 0.5; cce: rows whose largest output is the target."""
    empty = np.empty((0, A.shape[1]), A.dtype)  # (no logits needed: A as Z)
    return int(kernels.loss_and_deltas(loss, 0, _c(A), _c(A), _c(Y, A.dtype), np.empty(0),
                                        empty)[1])


def l2_penalty(W, K):
    """The sum of W's squared entries; with K (a dual first layer's Gram matrix), of the primal
    weights': sum_j W[:, j] . K W[:, j]."""
    K = np.empty((0, W.shape[0]), W.dtype) if K is None else _c(K, W.dtype)
    return float(kernels.l2_penalty(_c(W), K))


def optimizer_step(rule, params, grads):
    """One update of params (in place; ``rule.step`` advances first); False if some new value
    was not finite (that element kept its old one)."""
    rule.step[0] += 1
    return bool(kernels.update(rule, params, grads))


def forward(flat, net, X):
    """The output layer's Z and A for X (m, n_in), each (m, k)."""
    m = X.shape[0]
    X = _inputs(X, flat.dtype)
    _ready(flat, X)
    Z = np.empty((m, int(net.sizes[-1])), flat.dtype)
    A = np.empty_like(Z)
    kernels.forward_rows(flat, net, X, Z, A)
    return Z, A


def evaluate(flat, net, loss, X, Y):
    """``(loss, correct)`` of the network on X, Y."""
    X = _inputs(X, flat.dtype)
    _ready(flat, X)
    value, correct = kernels.evaluate(flat, net, loss, X, _c(Y, flat.dtype))
    return float(value), int(correct)


def _objective(objective):
    """The Objective with the types the kernels are compiled for (one signature per dtype)."""
    return Objective(int(objective.loss), float(objective.alpha),
                     _c(objective.sample_weights, np.float64))


def loss_and_gradients(flat, net, objective, X, Y, grads):
    """Forward, loss, then backpropagation; fills ``grads`` (flat); ``(loss, correct)``."""
    X = _inputs(X, flat.dtype)
    _ready(flat, X)
    value, correct = kernels.gradients(flat, net, _objective(objective), X,
                                        _c(Y, flat.dtype), grads)
    return float(value), int(correct)


def train_epochs(flat, net, objective, batches, rule, out):
    """One epoch of updates per row of ``batches.orders``, all in one compiled call (see the
    contract)."""
    inputs = _inputs(batches.inputs, flat.dtype)
    _ready(flat, inputs)
    return int(kernels.train_epochs(flat, net, _objective(objective), inputs,
                                     _c(batches.Y, flat.dtype), _c(batches.orders, np.int64),
                                     int(batches.size), rule, out))


# The entry points of a set: the contract's function -> its compiled kernel.
ENTRIES = {"train_epochs": kernels.train_epochs, "evaluate": kernels.evaluate,
           "forward": kernels.forward_rows, "loss_and_gradients": kernels.gradients}


def compile_kernels(name, progress=None):
    """Compile (or load) every kernel of the set ``name`` by running it on a tiny problem of
    its types, in the process; once all are saved in the cache folder, write the set's marker.
    ``progress(entry, seconds)`` after each. Returns ``{entry: seconds}``."""
    folder = compiling.cache_folder()
    lock = compiling.file_lock(compiling.compile_lock_path(folder)) if compiling.writable() \
        else _no_lock()
    with lock:  # (one compile per cache folder at a time; a running one may have done it)
        _ready_sets.add(name)  # (the entries below run without asking again)
        seconds = _compile_entries(name, progress)
        entries = list(ENTRIES.values())
        if not _numba_cache.unsaved and all(entry.stats.cache_misses or entry.stats.cache_hits
                                            for entry in entries):
            compiling.mark_cached(name, [entry._cache.index_path.name for entry in entries
                                         if hasattr(entry._cache, "index_path")])
    return seconds


class _no_lock:
    def __enter__(self):
        return True

    def __exit__(self, *exc):
        return False


def _compile_entries(name: str, progress) -> dict:
    dtype, kind = name.split("-")
    rng = np.random.default_rng(0)
    X = rng.random((4, 3)).astype(dtype)
    if kind == "sparse":
        import scipy.sparse

        X = scipy.sparse.csr_matrix(X)
    Y = np.eye(2, dtype=dtype)[[0, 1, 0, 1]]
    net = Net(np.array([3, 2, 2], np.int64), np.array([3, 5], np.int64),
              np.ones(2, np.int64), 0)
    flat = rng.random(14).astype(dtype)
    objective = Objective(3, 0.0, np.empty(0))
    rule = Rule(0, 0.1, 0.0, 0.0, 0.0, 0.0, np.zeros_like(flat), np.zeros_like(flat),
                np.empty(0, flat.dtype), np.zeros(1, np.int64), np.ones(1), 0, 0.0, 0, 0.0)
    inputs = prepare_inputs(X)
    runs = {
        "train_epochs": lambda: train_epochs(flat, net, objective,
                                             Batches(inputs, Y, np.arange(4).reshape(1, 4), 2),
                                             rule, np.zeros((1, 2))),
        "evaluate": lambda: evaluate(flat, net, 3, X, Y),
        "forward": lambda: forward(flat, net, X),
        "loss_and_gradients": lambda: loss_and_gradients(flat, net, objective, X, Y,
                                                         np.empty_like(flat)),
    }
    seconds = {}
    for entry in ENTRIES:
        start = time.perf_counter()
        runs[entry]()
        seconds[entry] = time.perf_counter() - start
        if progress is not None:
            progress(entry, seconds[entry])
    return seconds
