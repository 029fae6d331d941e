"""The dual form of a fit's first layer: the same SGD trajectory through the Gram matrix.

Under SGD with momentum (``v = momentum v - lr g``, then ``W += v``, or Nesterov's ``W +=
momentum v - lr g``), with an L2 penalty or not, every update of the first layer is a fixed
linear map of its gradients, X^T S (S (n, n_1) zero but for the batch's rows, which hold dL/dZ1),
and, with the penalty, of W1 itself. So W1 stays in the span of a basis M = [X^T | W1_0 | v0]
(n_in, width), width = n + 2 n_1 (v0, the velocity the fit starts from, only where it is not 0):

    W1 = M D = X^T C + W1_0 A + v0 S,    Z1 = X W1 + b1 = K[:n] D + b1,    K = M^T M

with D = [C; A; S] (width, n_1) the dual first layer's weights, starting at [0; I; 0] with a
velocity of [0; 0; I], and K the Gram matrix of the basis (its first n rows are [X X^T | X W1_0
| X v0], what the samples read). The update of D is the update of W1 with the gradient X^T S
replaced by S (``dual_backward``): the same rule on the small dual network. The penalty's
gradient ``alpha W1 / s`` is ``M (alpha D / s)``, so the same rule applies to D as it stands,
and the penalty's value is ``alpha / (2 s) * sum_j D[:, j] . K D[:, j]`` (``l2_penalty``). A
step costs n width n_1 multiply-adds for the first layer instead of n n_in n_1 (with the
penalty, width^2 n_1 more). W1 (and its velocity) is formed from D at the end of the fit, or
when something reads the model's weights during it.
"""

import numpy as np

from .network import layer_views


class DualFit:
    """The dual problem of one fit: its network, weights, optimizer rule and inputs; ``finish``
    writes the primal weights and optimizer state back into ``weights`` and the optimizer.

    ``weights`` is the model's flat weights and ``net`` its network; ``X`` (n, n_in) the
    training inputs (dense or sparse), ``X_val`` the validation inputs or None."""

    def __init__(self, kernels, weights, net, optimizer, X, X_val=None):
        self.weights, self.kernels, self.X = weights, kernels, X
        sizes = [int(s) for s in net.sizes]
        n, n_1 = X.shape[0], sizes[1]
        rule = optimizer.bind(weights)  # the optimizer's own state, sized to it if it is new
        W1, _ = layer_views(weights, sizes)[0]
        v1, _ = layer_views(rule.state1, sizes)[0]
        moving = rule.momentum > 0 and bool(v1.any())
        self.basis = np.vstack([W1.T] + ([v1.T] if moving else []))  # (width - n, n_in)
        width = n + self.basis.shape[0]
        self.n, self.n_1, self.head = n, n_1, W1.size
        self.sizes = [width] + sizes[1:]
        self.net = net._replace(sizes=np.array(self.sizes, np.int64), dual=1)
        rest = weights.size - W1.size
        self.flat = np.zeros(width * n_1 + rest, weights.dtype)
        self.flat[width * n_1:] = weights[W1.size:]
        velocity = np.zeros_like(self.flat)
        velocity[width * n_1:] = rule.state1[W1.size:]
        D, _ = layer_views(self.flat, self.sizes)[0]
        V, _ = layer_views(velocity, self.sizes)[0]
        D[n:n + n_1] = np.eye(n_1)
        if moving:  # the v0 block: no weight yet, a velocity of I
            V[n + n_1:] = np.eye(n_1)
        self.rule = optimizer.bind(self.flat, velocity, np.empty(0, weights.dtype))
        self.optimizer = optimizer
        self.inputs = kernels.prepare_inputs(self.gram_matrix())
        self.X_val = None if X_val is None else self.dual_inputs(X_val)

    def dual_inputs(self, A) -> np.ndarray:
        """[A X^T | A W1_0 | A v0] (m, width): what the dual first layer reads for the samples
        A."""
        gram = self.kernels.gram
        return np.ascontiguousarray(np.hstack([gram(A, self.X), gram(A, self.basis)]))

    def gram_matrix(self) -> np.ndarray:
        """K = M^T M (width, width): the samples' dual inputs, then the basis' other rows."""
        top = self.dual_inputs(self.X)
        bottom = np.hstack([top[:, self.n:].T, self.kernels.gram(self.basis, self.basis)])
        return np.ascontiguousarray(np.vstack([top, bottom]))

    def finish(self) -> None:
        """W1 = M D and its velocity M V, the other parameters as they are: into the model and
        its optimizer."""
        gram, n, n_1 = self.kernels.gram, self.n, self.n_1
        D, _ = layer_views(self.flat, self.sizes)[0]
        V, _ = layer_views(self.rule.state1, self.sizes)[0]
        both = np.hstack([D, V])  # (width, 2 n_1): one product per part of the basis
        primal = gram(self.X.T, both[:n].T) + gram(self.basis.T, both[n:].T)
        width = self.sizes[0] * n_1
        flat, state = self.weights, self.optimizer.state1
        flat[:self.head] = primal[:, :n_1].ravel()
        flat[self.head:] = self.flat[width:]
        state[:self.head] = primal[:, n_1:].ravel()
        state[self.head:] = self.rule.state1[width:]
