"""The planner: which plan a fit (or a prediction) runs, from the costs and conditions of its
problem; pinned plans."""

import numpy as np
import pytest
from helpers import small_model

import fastnn
from fastnn import plans
from fastnn.plans import Plan, Problem

CAT = (12288, 20, 7, 5, 1)
HAS_NUMBA = "numba" in fastnn.available_backends()
FAST = "numba" if HAS_NUMBA else "numpy"


def cat_fit(batch=209, epochs=2500, solver="sgd", itemsize=8, n=209, source="memory"):
    return Problem(CAT, n, batch, epochs, itemsize, solver, source=source)


def test_the_cat_model_trains_in_the_dual_form_with_sgd():
    plan = plans.choose(cat_fit())
    assert plan.dual and plan.backend == FAST
    assert plan.engine == ("compiled" if HAS_NUMBA else "layers")
    assert plans.choose(cat_fit(itemsize=4)).dual
    assert plans.choose(cat_fit(batch=1)).dual  # per-sample SGD too: the same cost per epoch


def test_the_dual_form_needs_sgd_and_pays_only_over_many_epochs_and_few_samples():
    assert not plans.choose(cat_fit(solver="adam")).dual  # Adam
    assert not plans.choose(cat_fit(epochs=1)).dual  # G alone costs more than one epoch
    assert not plans.choose(Problem((784, 128, 10), 60000, 64, 10, 8, "sgd")).dual  # n > n_in
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
    for fit in (Problem((2, 4, 1), 400, 1, 100, 8, "sgd"),
                Problem((784, 128, 10), 10000, 64, 10, 4, "adam"),
                cat_fit(batch=64, solver="adam"), cat_fit(solver="adam"), cat_fit(batch=1)):
        plan = plans.choose(fit)
        assert (plan.backend, plan.engine) == ("numba", "compiled")
    assert plans.choose(cat_fit()).row == "dual, compiled epochs"
    assert plans.choose(cat_fit(solver="adam")).row == "compiled epochs"
    numpy = plans.choose(cat_fit(solver="adam"), backend="numpy")
    assert (numpy.engine, numpy.row) == ("layers", "batch by batch")


def test_a_pinned_plan_runs_as_it_is_once_checked():
    net = small_model((4, 3, 1), ("relu", "sigmoid"))
    X, y = np.random.default_rng(0).normal(size=(6, 4)), np.arange(6) % 2
    pinned = Plan("numpy", True, "layers", "pinned")
    history = net.fit(X, y, optimizer=fastnn.SGD(0.1), epochs=2, plan=pinned)
    assert history.params["plan"] == "pinned" and history.params["dual"]
    assert net.plan(X, epochs=1, dual=False).dual is False
    with pytest.raises(ValueError, match="plan: the dual form needs SGD"):
        net.fit(X, y, optimizer=fastnn.Adam(), plan=pinned)
    with pytest.raises(ValueError, match="plan: only the numba backend runs compiled epochs"):
        net.fit(X, y, plan=Plan("numpy", False, "compiled", "wrong"))
    with pytest.raises(TypeError, match="plan: expected a fastnn.plans.Plan"):
        net.fit(X, y, plan="dual")
    assert len(net.history.epoch) == 2
    with pytest.raises(ValueError, match="X: expected a 2-D array"):
        net.plan(np.ones(3))


def test_streams_and_communicators_are_conditions_of_the_tables():
    stream = plans.choose(cat_fit(batch=64, source="stream"))
    engine = "compiled epochs" if HAS_NUMBA else "batch by batch"
    assert (stream.source, stream.dual, stream.row) == \
        ("stream", False, f"window by window, {engine}")
    ranks = plans.choose(cat_fit(source="mpi"))
    assert (ranks.source, ranks.dual) == ("mpi", False)
    assert ranks.row.startswith("data-parallel over MPI, ")
    with pytest.raises(ValueError, match="dual: the dual form needs X in memory"):
        plans.choose(cat_fit(source="stream"), dual=True)
    with pytest.raises(ValueError, match="dual: the dual form does not run data-parallel"):
        plans.choose(cat_fit(source="mpi"), dual=True)
    with pytest.raises(ValueError, match="L-BFGS .* needs X in memory, not window by window"):
        plans.choose(cat_fit(solver="lbfgs", source="stream"))


def test_backends_take_names_and_the_planner_says_what_auto_means():
    with pytest.raises(ValueError, match="backend: unknown name 'auto'"):
        fastnn.backends.get("auto")
    with pytest.raises(ValueError, match="backend: unknown name 'cuda'; choose one of 'auto'"):
        plans.backend_name("cuda")
    inference = Problem(CAT, 50, 50, 0, 8)
    assert plans.choose(inference).backend == FAST and not plans.choose(inference).dual


def test_every_row_of_the_tables_names_its_benchmark():
    for table in (plans.BACKENDS, plans.SOURCES, plans.ENGINES):
        names = [row[0] for row in table]
        assert len(set(names)) == len(names)
        assert all(row[-1] for row in table)
