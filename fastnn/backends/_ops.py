"""The backend contract: the names every backend module defines, in this order. The records
they take (``Net``, ``Objective``, ``Rule``) and the flat weights are ``fastnn.network``'s.

Shapes (``m`` samples, ``n_in`` inputs, ``n_out`` outputs, ``k`` targets per sample):

- ``prepare_inputs(X) -> inputs``: the training inputs laid out once per fit in the form this
  backend reads fastest; ``train_epochs`` then gets ``inputs`` in place of X.
- ``take_rows(X, rows) -> batch``: the samples X[rows] of one batch, in the form this backend's
  ``dense_forward`` and ``dense_backward`` accept as their X (a copy, or X and the indices).
- ``dropout_scales(key, step, layer, first, rate, M)``: M (m, n) = each unit's factor in
  training, 0 (dropped) or 1 / (1 - rate) (kept) in M's dtype, for the samples at batch
  positions first, first + 1, ... of update ``step``, on ``layer``'s inputs
  (``fastnn.dropout``: the same bits in every backend).
- ``dense_forward(X, W, b, act) -> (Z, A)``: X (m, n_in), W (n_in, n_out), b (n_out,);
  Z, A (m, n_out).
- ``activation_backward(act, Z, A, dA) -> dZ``: all (m, n_out).
- ``dense_backward(dZ, X, W, need_dX) -> (dX, dW, db)``: dX (m, n_in) or None, dW like W, db like b.
- ``dual_backward(dZ, rows, W) -> (dW, db)``: dW like W, 0 but for dW[rows[r]] += dZ[r]; db the
  column sums of dZ: the gradient of a first layer in the dual form (for its weight gradient,
  the input of sample ``rows[r]`` is the one-hot row ``rows[r]``).
- ``loss_value(loss, act, Z, A, Y, sample_weights=None) -> float``: Z, A, Y (m, k);
  ``sample_weights`` (m,): the samples' weights (None: all 1), see ``fastnn.losses``.
- ``output_delta(loss, act, Z, A, Y, sample_weights=None) -> dZ``: dL/dZ of the output layer,
  (m, k).
- ``correct_count(loss, A, Y) -> int``: correct predictions in a batch (bce: elements with
  ``A > 0.5`` equal to Y; cce: rows whose largest output is the target class; else 0).
- ``l2_penalty(W, K) -> float``: the sum of W's squared entries (K None); for a first layer in
  the dual form, whose weights W (width, n_1) are the coefficients of W1 = M W over a basis M
  with Gram matrix K = M^T M (width, width), the same of W1: ``sum_j W[:, j] . K W[:, j]``.
- ``optimizer_step(rule, params, grads) -> bool``: one update of the flat ``params`` in place
  (``rule.step`` advances by one first). An element whose new value (or new state) would not
  be finite keeps its old value; the result says whether all were finite.
- ``gram(A, B) -> A @ B.T``: A (m, k), B (n, k) -> (m, n), computed in float64 and returned in
  A's dtype: the products the dual form is made of (once per fit).
- ``forward(flat, net, X) -> (Z, A)``: the output layer's Z and A (m, k); caches nothing else.
- ``evaluate(flat, net, loss, X, Y) -> (loss, correct)``: the loss of the network on X, Y and
  its correct predictions (``correct_count``).
- ``loss_and_gradients(flat, net, objective, X, Y, grads) -> (loss, correct)``: fills the flat
  ``grads`` with the gradient of the batch's objective (``Objective``: the loss, weighted, plus
  the L2 penalty); a net with dropout (``Net.drops``) drops by the masks of step
  ``net.masking[1]``, the samples at batch positions from ``net.masking[2]``.
- ``train_epochs(flat, net, objective, batches, rule, out) -> int``: one epoch of updates for
  each row of ``batches.orders`` (epochs, n) (``network.Batches``: the inputs, the targets, the
  orders, the batch size): the samples in that order, in batches. ``out[e] = (loss,
  correct)`` of epoch e: the epoch's training loss (see ``losses.EpochLoss``) and its correct
  predictions, from each batch's forward pass. Returns the epochs completed: fewer when a
  batch's loss is not finite (its update is not applied; its loss is left in ``out[e, 0]``)
  or an update met a non-finite value (``out[e, 0]`` finite). With dropout, each batch's masks
  are those of the rule's step before its update, its samples at positions 0, 1, ... Batch by
  batch, layer by layer in Python (loop and numpy), or whole epochs in one compiled call
  (numba).
- ``compile_kernels(name, progress=None) -> dict``: make the kernels of the set ``name``
  (``fastnn.compiling``: a dtype and a kind of X, e.g. ``"float64-dense"``) ready in this
  process and, where they compile, in the cache; ``{kernel: seconds}``, ``progress(kernel,
  seconds)`` after each. Only numba compiles; the others have nothing to do.

A net in the dual form (``Net.dual``) reads, in place of X, the Gram matrix K (width, width) of
its first layer's basis (``fastnn.dual``): row i < n_samples is sample i's input; the L2
penalty of its first layer is ``l2_penalty(W1, K)``.

``flat`` holds every parameter in one 1-D array: for each layer, W (row-major) then b.
"""

OPS = (
    "prepare_inputs",
    "take_rows",
    "dropout_scales",
    "dense_forward",
    "activation_backward",
    "dense_backward",
    "dual_backward",
    "loss_value",
    "output_delta",
    "correct_count",
    "l2_penalty",
    "optimizer_step",
    "gram",
    "forward",
    "evaluate",
    "loss_and_gradients",
    "train_epochs",
    "compile_kernels",
)
