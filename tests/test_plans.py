"""The planner: which plan a fit runs, from the costs of its shapes."""

import numpy as np
import pytest
from conftest import small_model

import fastnn
from fastnn import plans
from fastnn.plans import Fit, Plan

CAT = (12288, 20, 7, 5, 1)
HAS_NUMBA = "numba" in fastnn.available_backends()
FAST = "numba" if HAS_NUMBA else "numpy"


def cat_fit(batch=209, epochs=2500, solver="sgd", itemsize=8, n=209):
    return Fit(CAT, n, batch, epochs, itemsize, solver)


def test_the_cat_model_trains_in_the_dual_form_with_sgd():
    plan = plans.choose(cat_fit())
    assert plan.dual and plan.backend == FAST
    assert plan.engine == ("compiled" if HAS_NUMBA else "layers")
    assert plans.choose(cat_fit(itemsize=4)).dual
    assert plans.choose(cat_fit(batch=1)).dual  # per-sample SGD too: the same cost per epoch


def test_the_dual_form_needs_sgd_and_pays_only_over_many_epochs_and_few_samples():
    assert not plans.choose(cat_fit(solver="adam")).dual  # Adam
    assert not plans.choose(cat_fit(epochs=1)).dual  # G alone costs more than one epoch
    assert not plans.choose(Fit((784, 128, 10), 60000, 64, 10, 8, "sgd")).dual  # n > n_in
    huge = cat_fit(n=20000, epochs=10**6)  # the Gram matrix would take 3.2 GB
    assert huge.gram_bytes() > plans.DUAL_MAX_BYTES and not plans.choose(huge).dual


def test_dual_true_where_it_cannot_apply_is_a_value_error():
    with pytest.raises(ValueError, match="dual: the dual form needs SGD .*Adam"):
        plans.choose(cat_fit(solver="adam"), dual=True)
    net = small_model((4, 3, 1), ("relu", "sigmoid"))
    with pytest.raises(ValueError, match="dual: the dual form needs SGD"):
        net.fit(np.ones((5, 4)), np.ones(5), optimizer=fastnn.Adam(), dual=True)
    with pytest.raises(ValueError, match="dual: expected True, False or 'auto', got 'yes'"):
        net.fit(np.ones((5, 4)), np.ones(5), dual="yes")
    assert net.history.epoch == []


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
def test_auto_means_numba_and_its_compiled_engine_for_every_fit():
    for fit in (Fit((2, 4, 1), 400, 1, 100, 8, "sgd"),
                Fit((784, 128, 10), 10000, 64, 10, 4, "adam"),
                cat_fit(batch=64, solver="adam"), cat_fit(solver="adam"), cat_fit(batch=1)):
        plan = plans.choose(fit)
        assert (plan.backend, plan.engine) == ("numba", "compiled")
    assert plans.choose(cat_fit()).row == "dual, compiled epochs"
    assert plans.choose(cat_fit(solver="adam")).row == "compiled epochs"
    numpy = plans.choose(cat_fit(solver="adam"), backend="numpy")
    assert (numpy.engine, numpy.row) == ("layers", "batch by batch")


def test_forced_plans_and_the_plan_of_a_model():
    net = small_model((4, 3, 1), ("relu", "sigmoid"))
    X = np.random.default_rng(0).normal(size=(6, 4))
    forced = Plan("numpy", True, "layers", "forced")
    with plans.forced(forced):
        assert net.plan(X, epochs=3) == forced
        history = net.fit(X, np.arange(6) % 2, optimizer=fastnn.SGD(0.1), epochs=2)
    assert history.params["plan"] == "forced" and history.params["dual"]
    assert net.plan(X, epochs=1, dual=False).dual is False
    with pytest.raises(ValueError, match="X: expected a 2-D array"):
        net.plan(np.ones(3))


def test_every_row_of_the_tables_names_its_benchmark():
    for table in (plans.BACKENDS, plans.ENGINES):
        names = [row[0] for row in table]
        assert len(set(names)) == len(names)
        assert all(row[-1] for row in table)
