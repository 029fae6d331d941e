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
    return Problem(CAT, n, batch, epochs, itemsize, solver, streamed=source == "stream",
                   parallel=source == "mpi")


@pytest.fixture
def kernels(monkeypatch):
    """Set what the planner sees of numba's kernels: ``kernels("loaded" | "cached" |
    "missing", mode)``."""
    def set_state(state, mode="background"):
        fresh = plans.compiling.LOAD_SECONDS + plans.compiling.NUMBA_START_SECONDS
        monkeypatch.setattr(plans.backends, "installed", lambda name: True)
        monkeypatch.setattr(plans.compiling, "state", lambda name: state)
        monkeypatch.setattr(plans.compiling, "load_seconds", lambda: fresh)  # (a new process)
        monkeypatch.setenv("FASTNN_COMPILE", mode)
    return set_state


def test_the_cat_model_trains_in_the_dual_form_with_sgd(kernels):
    kernels("loaded")
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


PER_SAMPLE = Problem((2, 4, 1), 400, 1, 100, 8, "sgd")  # 100 per-sample epochs: ~5 s on numpy
MNIST = Problem((784, 128, 10), 10000, 64, 10, 4, "adam")  # ~1 s of epochs on numpy
DIGITS = Problem((64, 100, 10), 1347, 200, 143, 8, "adam")  # scikit-learn's digits fit: ~0.3 s
TINY = Problem((2, 4, 1), 400, 400, 3, 8, "sgd")


def test_auto_runs_numba_where_its_kernels_are_loaded(kernels):
    kernels("loaded")
    for fit in (PER_SAMPLE, MNIST, DIGITS, TINY, cat_fit(batch=64, solver="adam"),
                cat_fit(solver="adam"), cat_fit(batch=1)):
        plan = plans.choose(fit)
        assert (plan.backend, plan.engine, plan.upgrade) == ("numba", "compiled", ""), fit
        assert "numba" in plan.why and "loaded" in plan.why
    assert plans.choose(cat_fit()).row == "dual, compiled epochs"
    assert plans.choose(cat_fit(solver="adam")).row == "compiled epochs"
    numpy = plans.choose(cat_fit(solver="adam"), backend="numpy")
    assert (numpy.engine, numpy.row, numpy.why) == ("layers", "batch by batch", "")


def test_auto_counts_the_loading_of_cached_kernels(kernels):
    kernels("cached")
    assert plans.choose(PER_SAMPLE).backend == "numba"  # 5 s on numpy against 0.3 s to load
    assert plans.choose(MNIST).backend == "numba"
    for short in (TINY, DIGITS, Problem(CAT, 50, 50, 0, 8)):  # (an inference: one pass)
        plan = plans.choose(short)
        assert (plan.backend, plan.engine, plan.upgrade) == ("numpy", "layers", ""), short
        assert "to load its kernels" in plan.why


def test_kernels_not_cached_compile_in_the_background_where_numba_would_win(kernels):
    kernels("missing")
    for fit in (PER_SAMPLE, MNIST):
        plan = plans.choose(fit)
        assert (plan.backend, plan.upgrade) == ("numpy", fit.kernel_set)
        assert "compile in the background" in plan.why
    for short in (TINY, DIGITS):  # numba would not win even once cached: nothing compiles
        assert plans.choose(short).upgrade == ""
    for data in ("stream", "mpi"):  # (a stream may switch; the ranks of MPI would not agree)
        assert bool(plans.choose(cat_fit(batch=1, source=data)).upgrade) == (data == "stream")
    assert plans.choose(Problem(CAT, 50, 50, 0, 8)).upgrade == ""  # only fits compile
    assert plans.choose(PER_SAMPLE, backend="numpy").upgrade == ""  # nor a named backend


def test_a_process_whose_fits_add_up_to_a_compile_compiles(kernels, monkeypatch):
    kernels("missing")
    assert plans.choose(DIGITS).upgrade == ""
    monkeypatch.setitem(plans.compiling._spent, DIGITS.kernel_set,
                        plans.compiling.COMPILE_SECONDS)
    assert plans.choose(DIGITS).upgrade == DIGITS.kernel_set


def test_foreground_compiles_only_where_it_pays_and_off_never(kernels):
    kernels("missing", "foreground")
    assert plans.choose(MNIST).backend == "numpy"  # 1 s of numpy against a 15 s compile
    long = Problem((2, 4, 1), 400, 1, 5000, 8, "sgd")  # ~70 s on numpy
    assert (plans.choose(long).backend, plans.choose(long).upgrade) == ("numba", "")
    kernels("missing", "off")
    assert (plans.choose(long).backend, plans.choose(long).upgrade) == ("numpy", "")
    kernels("missing", "sideways")
    with pytest.raises(ValueError, match="FASTNN_COMPILE: unknown value 'sideways'"):
        plans.choose(long)


def test_the_estimates_follow_the_measured_costs():
    """Each backend's estimate of an epoch is the costs' table times the features, and numba's
    is below numpy's on every shape (its fixed costs are what the planner weighs)."""
    features = plans.epoch_features((64, 100, 10), 1347, 200, "adam")
    assert features[:3] == [7, 14, 1347 * (2 * 7400 + 1000)]
    assert features[3:] == [0, 7 * 7510, 1347 * 110]
    for problem in (PER_SAMPLE, MNIST, DIGITS, TINY, cat_fit()):
        numpy, numba = problem.seconds("numpy"), problem.seconds("numba")
        assert 0 < numba < numpy
        assert problem.seconds("numpy", dual=True) < numpy or problem.sizes[0] < 1000


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
    assert not plans.choose(inference).dual


def test_every_row_of_the_tables_names_its_benchmark():
    for table in (plans.SOURCES, plans.ENGINES):
        names = [row[0] for row in table]
        assert len(set(names)) == len(names)
        assert all(row[-1] for row in table)
