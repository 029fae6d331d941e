"""The core types: a network, what it minimizes and how it steps, as every backend computes them.

- ``Net``: the layer widths, activations and biases of a network.
- the flat weights: every parameter in one 1-D array, for each layer W (n_in, n_out, row-major)
  then b (n_out,); ``layer_views`` gives ``[(W1, b1), ...]`` as views into it.
- ``Objective``: the loss, the samples' weights and the L2 penalty (``fastnn.losses``).

"Weights" alone means a network's parameters; the samples' weights are ``sample_weights``.
- ``Rule``: an optimizer's update, its hyperparameters and state (``fastnn.optimizers``).

The model and the trainer build them; the backends (``fastnn.backends``) compute with them.
This module imports nothing of fastnn's: everything else may import it.
"""

import sys
from typing import NamedTuple

import numpy as np

# The optimizers' rules (``fastnn.optimizers``), as the kernels know them.
OPT_SGD = 0
OPT_ADAM = 1
OPT_RMSPROP = 2
OPT_ADAGRAD = 3
OPT_ADAMW = 4
OPT_NADAM = 5


NO_DROPOUT = np.zeros(0)


class Net(NamedTuple):
    """A network as the kernels see it. ``drops`` and ``masking`` only change training
    (``train_epochs``, ``loss_and_gradients``); a forward pass or evaluation drops nothing."""

    sizes: np.ndarray  # int64 (layers + 1,): the widths, input first
    acts: np.ndarray  # int64 (layers,): each layer's activation code
    biases: np.ndarray  # int64 (layers,): 1 where a layer has a trained bias (0: b stays zero)
    dual: int  # 1: the first layer is in the dual form (its gradient by ``dual_backward``)
    drops: np.ndarray = NO_DROPOUT  # float64 (layers,): the dropout rate of each layer's
    # inputs (``fastnn.dropout``); empty: no dropout
    masking: np.ndarray = np.zeros(3, np.int64)  # int64 (3,): the masks' key (>= 0), and for
    # ``loss_and_gradients`` the step and the batch position of its first sample
    # (``train_epochs`` takes the step from the rule and counts positions from 0)

    def dropping(self) -> bool:
        """Whether training drops units anywhere."""
        return bool(self.drops.shape[0]) and bool((self.drops > 0).any())


class Objective(NamedTuple):
    """What a fit minimizes over a batch B (``fastnn.losses``): the loss, each sample's term
    weighted by its weight w_i and divided by s = sum of w_i over B, plus ``alpha / (2 s)``
    times the sum of every squared weight (biases excluded)."""

    loss: int  # the loss code
    alpha: float  # the L2 penalty's strength (scikit-learn's alpha); 0: none
    sample_weights: np.ndarray  # float64 (n_samples,): each training sample's weight; empty:
    # all 1

    def part(self, rows, penalty: bool = True) -> "Objective":
        """The objective of the samples ``rows`` (an index array or a slice) alone; without
        the penalty where it is added once for all parts (``penalty=False``)."""
        weights = self.sample_weights[rows] if len(self.sample_weights) else self.sample_weights
        return Objective(self.loss, self.alpha if penalty else 0.0, weights)


class Batches(NamedTuple):
    """What a call of ``train_epochs`` visits: the inputs (as the backend's
    ``prepare_inputs`` lays them out) and targets (n, k), and per epoch the samples' order
    (epochs, n), taken ``size`` at a time."""

    inputs: object
    Y: np.ndarray
    orders: np.ndarray  # int64 (epochs, n)
    size: int


class Rule(NamedTuple):
    """An optimizer as the kernels see it: its rule, hyperparameters and state (each rule's
    formulas: ``fastnn.optimizers``; ``Optimizer.bind`` makes it)."""

    code: int  # OPT_SGD, OPT_ADAM, OPT_RMSPROP, OPT_ADAGRAD, OPT_ADAMW or OPT_NADAM
    lr: float  # this epoch's learning rate (after the schedule)
    momentum: float  # SGD, RMSprop
    beta1: float  # the Adam family
    beta2: float
    eps: float
    state1: np.ndarray  # like flat: SGD's velocity, the first moment (Adam family), RMSprop's
    # mean square, Adagrad's accumulator
    state2: np.ndarray  # like flat: the second moment (Adam family), centered RMSprop's mean
    state3: np.ndarray  # like flat: RMSprop's momentum buffer (empty: none)
    step: np.ndarray  # int64 (1,): updates applied so far (t)
    product: np.ndarray  # float64 (1,): Nadam's product of its momentum schedule so far
    nesterov: int  # SGD: 1 for Nesterov's momentum (w += momentum v - lr g after v's update)
    rho: float  # RMSprop's decay of the mean square
    centered: int  # RMSprop: 1 to divide by the variance's estimate
    weight_decay: float  # AdamW's, decoupled: w -= lr weight_decay w before the step

    def at_rate(self, lr: float) -> "Rule":
        """The same rule and state, stepping at ``lr``."""
        return self._replace(lr=lr)


def adam_scalars(rule: Rule) -> tuple:
    """The Adam family's scalars of the step t = ``rule.step[0]`` (advanced already), in float64:
    ``(c1, c2, c3, shrink)`` of ``w = shrink w - (c1 m + c2 g) / (sqrt(s / c3) + eps)``
    (``fastnn.optimizers``); Nadam's multiplies ``rule.product`` by this step's u_t."""
    t = float(rule.step[0])
    c1 = rule.lr * (1.0 - rule.beta2**t) ** 0.5 / (1.0 - rule.beta1**t)
    c2, c3, shrink = 0.0, 1.0, 1.0
    if rule.code == OPT_ADAMW:
        shrink = 1.0 - rule.lr * rule.weight_decay
    elif rule.code == OPT_NADAM:
        u, u_next = (rule.beta1 * (1.0 - 0.5 * 0.96**step) for step in (t, t + 1.0))
        rule.product[0] *= u
        product = float(rule.product[0])
        c1 = rule.lr * u_next / (1.0 - product * u_next)
        c2 = rule.lr * (1.0 - u) / (1.0 - product)
        c3 = 1.0 - rule.beta2**t
    return c1, c2, c3, shrink


def param_count(sizes) -> int:
    """Number of parameters of a network with layer widths ``sizes`` (input first)."""
    return int(sum(sizes[i] * sizes[i + 1] + sizes[i + 1] for i in range(len(sizes) - 1)))


def layer_views(flat: np.ndarray, sizes) -> list:
    """``[(W1, b1), (W2, b2), ...]`` as views into ``flat``: W (n_in, n_out), b (n_out,)."""
    views = []
    offset = 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        n_in, n_out = int(n_in), int(n_out)
        W = flat[offset:offset + n_in * n_out].reshape(n_in, n_out)
        offset += n_in * n_out
        b = flat[offset:offset + n_out]
        offset += n_out
        views.append((W, b))
    return views


ALIGN = 64  # bytes: a cache line, one 512-bit vector. Vector loads from data aligned to it
# never straddle two lines (a misaligned X measured up to 30 % slower per thread).


def aligned_empty(shape, dtype) -> np.ndarray:
    """np.empty(shape, dtype) with its data aligned to ALIGN bytes."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    offset = -raw.ctypes.data % ALIGN
    return raw[offset:offset + nbytes].view(dtype).reshape(shape)


def aligned(X) -> np.ndarray:
    """X, C-contiguous and aligned to ALIGN bytes (a copy only if it is not)."""
    X = np.ascontiguousarray(X)
    if X.ctypes.data % ALIGN == 0:
        return X
    copy = aligned_empty(X.shape, X.dtype)
    copy[...] = X
    return copy


def issparse(X) -> bool:
    """Whether X is a SciPy sparse matrix or array. Without ``scipy.sparse`` imported nothing
    can be one, so fastnn does not import it (0.1 s) for dense X."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)
