"""The dual form of a fit's first layer: the same SGD trajectory through the Gram matrix.

Under SGD with momentum (``v = momentum v - lr g; W = W + v``), every gradient of the first layer
is X^T S, S (n, n_1) zero but for the batch's rows, which hold dL/dZ1. So with C and V (n, n_1),
W1 = W1_0 + X^T C + v0 s and v = X^T V + v0 r at every step, where v0 is the velocity the fit
starts from and s, r are scalars (r = momentum^t, s = r_1 + ... + r_t). Then

    Z1 = X W1 + b1 = G C + P0 + Q0 s + b1,   G = X X^T,  P0 = X W1_0,  Q0 = X v0

and the update of C is the update of W1 with the gradient replaced by S: the primal rule on the
small dual network whose first layer has the inputs [G | P0 | Q0] (n + 2 n_1 columns, Q0 only
if v0 is not 0) and the weights [C; I; s I], of which only C has a gradient (``dual_backward``).
The I block never moves; the s I block starts at 0 with a velocity of I and so follows the decay
of v0. A step costs n (n + 2 n_1) n_1 multiply-adds for the first layer instead of n n_in n_1.
W1 (and its velocity) is formed from C (and V) at the end of the fit, or when something reads
the model's weights during it.
"""

import numpy as np

from .backends._layout import layer_views
from .backends._ops import Net


class DualFit:
    """The dual problem of one fit: its network, weights, optimizer rule and inputs; ``finish``
    writes the primal weights and optimizer state back into the model."""

    def __init__(self, model, kernels, X, optimizer, X_val=None):
        self.model, self.kernels, self.X = model, kernels, X
        sizes = [int(s) for s in model._sizes]
        n, n_1 = X.shape[0], sizes[1]
        flat = model._flat
        rule = optimizer.bind(flat)  # the model's state, sized to it if it is new
        W1, _ = layer_views(flat, sizes)[0]
        v1, _ = layer_views(rule.first, sizes)[0]
        self.W1_0, self.v0 = W1.copy(), v1.copy()
        moving = rule.momentum > 0 and bool(self.v0.any())
        self.blocks = 3 if moving else 2
        width = n + (self.blocks - 1) * n_1
        self.n, self.n_1, self.head = n, n_1, W1.size
        self.sizes = [width] + sizes[1:]
        self.net = Net(np.array(self.sizes, np.int64), *model._net()[1:3], 1)
        rest = flat.size - W1.size
        self.flat = np.zeros(width * n_1 + rest, flat.dtype)
        self.flat[width * n_1:] = flat[W1.size:]
        first = np.zeros_like(self.flat)
        first[width * n_1:] = rule.first[W1.size:]
        W, _ = layer_views(self.flat, self.sizes)[0]
        V, _ = layer_views(first, self.sizes)[0]
        W[n:n + n_1] = np.eye(n_1)
        if moving:  # the s I block: no weight yet, a velocity of I
            V[n + n_1:] = np.eye(n_1)
        self.rule = optimizer.bind(self.flat, first, np.empty(0, flat.dtype))
        self.optimizer = optimizer
        self.inputs = kernels.prepare_inputs(self.dual_inputs(X))
        self.X_val = None if X_val is None else self.dual_inputs(X_val)

    def dual_inputs(self, A) -> np.ndarray:
        """[A X^T | A W1_0 | A v0]: what the dual first layer reads for the samples A."""
        gram = self.kernels.gram
        blocks = [gram(A, self.X), gram(A, np.vstack([self.W1_0.T] + (
            [self.v0.T] if self.blocks == 3 else [])))]
        return np.ascontiguousarray(np.hstack(blocks))

    def finish(self) -> None:
        """W1 = W1_0 + X^T C + v0 s, its velocity X^T V + v0 r, the other parameters as they
        are: into the model and its optimizer."""
        gram, n, n_1 = self.kernels.gram, self.n, self.n_1
        W, _ = layer_views(self.flat, self.sizes)[0]
        V, _ = layer_views(self.rule.first, self.sizes)[0]
        both = gram(self.X.T, np.vstack([W[:n].T, V[:n].T]))  # [X^T C | X^T V], one product
        W1, v1 = self.W1_0 + both[:, :n_1], both[:, n_1:]
        if self.blocks == 3:
            both = gram(self.v0, np.vstack([W[n + n_1:].T, V[n + n_1:].T]))
            W1 += both[:, :n_1]
            v1 += both[:, n_1:]
        width = self.sizes[0] * n_1
        flat, state = self.model._flat, self.optimizer.state1
        flat[:self.head] = W1.ravel()
        flat[self.head:] = self.flat[width:]
        state[:self.head] = v1.ravel()
        state[self.head:] = self.rule.first[width:]
