"""The backend contract: the names every backend module defines, in this order.

Shapes (``m`` samples, ``n_in`` inputs, ``n_out`` outputs, ``k`` targets per sample):

- ``prepare_inputs(X) -> inputs``: the training inputs laid out once per fit in the form this
  backend reads fastest; ``train_epoch`` then gets ``inputs`` in place of X.
- ``take_rows(X, rows) -> batch``: the samples X[rows] of one batch, in the form this backend's
  ``dense_forward`` and ``dense_backward`` accept as their X (a copy, or X and the indices).
- ``dense_forward(X, W, b, act) -> (Z, A)``: X (m, n_in), W (n_in, n_out), b (n_out,);
  Z, A (m, n_out).
- ``activation_backward(act, Z, A, dA) -> dZ``: all (m, n_out).
- ``dense_backward(dZ, X, W, need_dX) -> (dX, dW, db)``: dX (m, n_in) or None, dW like W, db like b.
- ``loss_value(loss, act, Z, A, Y) -> float``: Z, A, Y (m, k).
- ``output_delta(loss, act, Z, A, Y) -> dZ``: dL/dZ of the output layer, (m, k).
- ``correct_count(loss, A, Y) -> int``: correct predictions in a batch (bce: elements with
  ``A > 0.5`` equal to Y; cce: rows whose largest output is the target class; else 0).
- ``sgd_step(params, grads, velocity, lr, momentum)``: in place on flat 1-D arrays.
- ``adam_step(params, grads, m, v, t, lr, beta1, beta2, eps)``: in place; ``t`` counts from 1.
- ``forward(flat, net, X) -> (Z, A)``: the output layer's Z and A (m, k); caches nothing else.
- ``loss_and_gradients(flat, net, loss, X, Y, grads) -> float``: fills the flat ``grads``.
- ``train_epoch(flat, net, loss, inputs, Y, order, batch_size, opt)``: one epoch of updates
  over the rows ``order`` in batches; returns ``(loss, correct)``: the epoch's training loss (see
  ``_network``) and the correct predictions, both from each batch's forward pass.

``net = (sizes, acts, biases)``, int64 arrays: the widths (input first), each layer's activation
code, and 1 where a layer has a trained bias (0: its b stays zero).
``flat`` holds every parameter in one 1-D array: for each layer, W (row-major) then b.
``opt = (code, hyper, state1, state2, step)``: code 0 SGD, 1 Adam; ``hyper`` float64
``[lr, momentum, beta1, beta2, eps]``; the state arrays are flat like ``flat``; ``step`` is an int64
array of one element, Adam's step counter, updated in place.
"""

OPS = (
    "prepare_inputs",
    "take_rows",
    "dense_forward",
    "activation_backward",
    "dense_backward",
    "loss_value",
    "output_delta",
    "correct_count",
    "sgd_step",
    "adam_step",
    "forward",
    "loss_and_gradients",
    "train_epoch",
)

OPT_SGD = 0
OPT_ADAM = 1
