"""The core types: the flat weights and their views, aligned inputs, Objective and Rule."""

import numpy as np
from helpers import make_rule

from fastnn import network


def test_layer_views_share_the_flat_weights():
    sizes = (3, 4, 2)
    flat = np.arange(network.param_count(sizes), dtype=float)
    assert flat.size == 3 * 4 + 4 + 4 * 2 + 2
    (W1, b1), (W2, b2) = network.layer_views(flat, sizes)
    assert (W1.shape, b1.shape, W2.shape, b2.shape) == ((3, 4), (4,), (4, 2), (2,))
    np.testing.assert_array_equal(W1, np.arange(12).reshape(3, 4))  # W row-major, then b
    np.testing.assert_array_equal(b1, np.arange(12, 16))
    W2[0, 0] = -1
    assert flat[16] == -1


def test_aligned_copies_only_what_is_not_aligned():
    X = network.aligned_empty((5, 7), np.float32)
    assert X.ctypes.data % network.ALIGN == 0 and X.shape == (5, 7) and X.dtype == np.float32
    assert network.aligned(X) is X
    shifted = np.zeros(5 * 7 + 1)[1:].reshape(5, 7)
    copy = network.aligned(shifted)
    assert copy.ctypes.data % network.ALIGN == 0 and copy is not shifted


def test_an_objectives_part_and_a_rules_rate():
    objective = network.Objective(2, 0.5, np.arange(6.0))
    part = objective.part(np.array([1, 4]))
    assert part.alpha == 0.5 and part.sample_weights.tolist() == [1.0, 4.0]
    assert objective.part(slice(2, 4), penalty=False).alpha == 0.0
    unweighted = network.Objective(2, 0.5, np.empty(0))
    assert unweighted.part(np.array([3])).sample_weights.size == 0
    state = np.zeros(3)
    rule = make_rule(network.OPT_SGD, 0.1, state, state, momentum=0.9, nesterov=1)
    faster = rule.at_rate(0.5)
    assert faster.lr == 0.5 and faster.state1 is state and faster.nesterov == 1
