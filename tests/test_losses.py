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
