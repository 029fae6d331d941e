"""The loss registry and an epoch's loss from its parts."""

from fastnn import activations, losses


def test_each_loss_with_the_outputs_it_takes():
    assert losses.OUTPUTS[losses.POISSON] == {activations.EXP}
    assert losses.OUTPUTS[losses.CCE] == {activations.SOFTMAX}
    assert losses.MSE not in losses.OUTPUTS and losses.SUM_LOSSES == {losses.SSE}


def test_an_epochs_loss_weighs_its_parts_by_their_samples():
    total = losses.EpochLoss(losses.MSE)
    total.add(2.0, 3, correct=1)
    total.add(4.0, 1, correct=2)
    assert total.value == (2.0 * 3 + 4.0) / 4 and total.correct == 3 and total.samples == 4
    added = losses.EpochLoss(losses.SSE)
    added.add(2.0, 3)
    added.add(4.0, 1)
    assert added.value == 6.0


def test_the_objectives_arithmetic_against_its_definition():
    """losses' weight sum, scale, divisor and fused pairs against their definitions written out,
    and the accuracy's denominator."""
    import numpy as np

    rng = np.random.default_rng(0)
    for loss in losses.LOSSES.values():
        for weights in (None, np.empty(0), rng.random(7), np.zeros(7)):
            s = 7.0 if weights is None or not len(weights) else float(weights.sum())
            expected = 1.0 if loss == losses.SSE or s == 0 else s
            assert losses.weight_sum(loss, weights, 7) == expected
            k = 3 if loss in (losses.CCE, losses.SSE) else 1
            assert losses.divisor(loss, weights, 7, 3) == expected * (3 // k)
    pairs = {(losses.BCE, activations.SIGMOID), (losses.CCE, activations.SOFTMAX),
             (losses.POISSON, activations.EXP)}
    for loss in losses.LOSSES.values():
        for act in activations.ACTIVATIONS.values():
            assert losses.fused(loss, act) == ((loss, act) in pairs)
    Y = np.zeros((4, 3))
    assert losses.accuracy(losses.CCE, 2, Y) == 0.5 and losses.accuracy(losses.BCE, 6, Y) == 0.5


def test_the_compiled_copies_compute_the_same_as_losses():
    """The numba kernels keep their own copies (Numba caches a kernel by its file): on random
    inputs they give what losses' definitions give."""
    import numpy as np
    import pytest

    pytest.importorskip("numba")
    from fastnn.backends import _numba_kernels as kernels

    rng = np.random.default_rng(1)
    for loss in losses.LOSSES.values():
        for act in activations.ACTIVATIONS.values():
            assert kernels._fused(loss, act) == losses.fused(loss, act)
        for weights in (np.empty(0), rng.random(9), np.zeros(9)):
            rows = rng.permutation(9)[:5]
            expected = losses.weight_sum(loss, weights[rows] if len(weights) else None, 5)
            assert kernels._weight_sum(loss, weights, rows) == pytest.approx(expected, 1e-15)
            for k in (1, 4):
                assert kernels._loss_scale(loss, expected, k) == losses.scale(loss, expected, k)
