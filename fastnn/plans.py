"""Which plan runs a fit, a prediction, an evaluation or a gradient: the backend, the dual form
or not, the engine that runs the epochs and where the batches come from. Every such choice is
made here (``choose``), from the costs and conditions of the problem (``Problem``).

Four decisions. Three are tables read top to bottom (the first row whose condition holds), each
row naming the benchmark row (``benchmarks/workloads.py``) where it beats the next simpler choice
by 1.2x or more, or the condition that makes it the only choice; a row that stops earning that
is deleted. The backend is chosen by estimated time.

- ``auto_backend``: what ``backend="auto"`` stands for: the backend with the shortest time to the
  result, counting numba's fixed costs in this process (``fastnn.compiling``): the compile of
  its kernels where they are not cached (``compiling.COMPILE_SECONDS``), their loading where
  they are cached but not loaded (``compiling.load_seconds``), nothing where they are loaded;
  the epochs' costs are estimated from ``EPOCH_COSTS`` (measured: ``benchmarks/costs.py``).
  Where numba would win but its kernels are not cached, the fit runs on numpy while they
  compile in the background (``Plan.upgrade``), and switches once they are.
- ``SOURCES``: where the batches come from: X in memory, a stream read window by window (an
  h5py dataset or a memmap), or each MPI rank's share of every batch.
- The dual form (``dual=True``, the name and meaning of scikit-learn's ``LinearSVC(dual=)``):
  under SGD, with or without momentum, every update of the first layer is a fixed linear map of
  X^T times something (and, with the L2 penalty, of W1), so W1 stays in the span of X's rows
  and the starting weights: a step costs n_samples x width x n_1 multiply-adds instead of
  n_samples x n_in x n_1 (``fastnn.dual``). ``dual="auto"`` uses it where it applies, its Gram
  matrix takes at most DUAL_MAX_BYTES and its multiply-adds are below 1 / DUAL_MARGIN of the
  primal fit's.
- ``ENGINES``: how the backend runs the epochs: SciPy's L-BFGS-B, numba's compiled epochs (its
  one engine), or, for the others, batch by batch in Python.

A plan can be pinned (``Sequential.fit(plan=...)``): it is checked against the problem, then
run as it is.
"""

import math
from dataclasses import dataclass

from . import backends, compiling

DUAL_MARGIN = 4.0  # what a multiply-add of the dual (small, serial) may cost over the primal's
DUAL_MAX_BYTES = 256 * 2**20


def epoch_features(sizes, n: int, batch: int, solver: str = "sgd") -> list:
    """What an epoch of ``n`` samples in batches of ``batch`` costs in, for a net of widths
    ``sizes``: batches, batches x layers, multiply-adds (forward, weight and input gradients),
    parameter updates (SGD's, Adam's) and unit activations (``EPOCH_COSTS`` weighs them)."""
    batches = math.ceil(n / max(batch, 1))
    layers = len(sizes) - 1
    products = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    rest = sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    updates = batches * (products + sum(sizes[1:]))
    adam = solver not in ("sgd", "")
    return [batches, batches * layers, n * (2 * products + rest),
            0 if adam else updates, updates if adam else 0, n * sum(sizes[1:])]


# Seconds per unit of each of ``epoch_features``, per backend: fitted by benchmarks/costs.py
# on the 2-core dev machine (float64 epochs of 7 nets from 2-4-1 to 3000-200-1, batches of 1
# to 2000, SGD and Adam; predicted / measured within 0.4-1.3x, median 1.0).
EPOCH_COSTS = {
    "numpy": (3.1e-5, 2.0e-6, 2.1e-11, 1.9e-9, 5.1e-9, 9.4e-9),
    "numba": (2.1e-6, 0.0, 1.9e-11, 7.1e-10, 1.6e-9, 4.9e-9),
}


@dataclass(frozen=True)
class Problem:
    """What the planner knows of a computation: its shapes, costs and conditions."""

    sizes: tuple  # the widths, input first
    n_samples: int
    batch: int
    epochs: int  # 0: not a fit (a prediction, an evaluation, a gradient)
    itemsize: int  # bytes of one value: 8 (float64) or 4 (float32)
    solver: str = ""  # "sgd" (classical or Nesterov momentum), "adam", "lbfgs"; "": not a fit
    n_val: int = 0  # validation samples
    density: float = 1.0  # the share of X's entries that are stored (sparse X: below 1)
    streamed: bool = False  # X is read window by window (an h5py dataset or a memmap)
    parallel: bool = False  # data-parallel over an MPI communicator
    sparse: bool = False  # X is a sparse matrix
    input_dropout: bool = False  # a Dropout before the first Dense layer

    @property
    def source(self) -> str:
        """Where the batches come from: "memory", "stream" or "mpi" (``SOURCES``)."""
        return source_row(self)[1]

    @property
    def kernel_set(self) -> str:
        """The numba kernels it runs on (``fastnn.compiling``)."""
        return compiling.kernel_set("float64" if self.itemsize == 8 else "float32",
                                    self.sparse)

    def seconds(self, backend: str, dual: bool = False) -> float:
        """The estimated time of its epochs on ``backend`` (``EPOCH_COSTS``), in the dual form
        or not; a prediction, evaluation or gradient (no epochs) as one pass."""
        width = self.dual_width() if dual else self.sizes[0] * self.density
        sizes = (width,) + tuple(self.sizes[1:])
        features = epoch_features(sizes, self.n_samples, self.batch, self.solver)
        epoch = sum(c * f for c, f in zip(EPOCH_COSTS[backend], features))
        return max(self.epochs, 1) * epoch

    @property
    def input_layer(self) -> float:
        """Multiply-adds of the first layer's products with X per sample (a sparse X's
        nonzeros only)."""
        return self.sizes[0] * self.sizes[1] * self.density

    @property
    def rest(self) -> int:
        """Multiply-adds of the other layers per sample."""
        return sum(a * b for a, b in zip(self.sizes[1:-1], self.sizes[2:]))

    def primal_cost(self) -> float:
        """Multiply-adds of the fit: forward, weight gradients, input gradients past layer 1."""
        return self.epochs * (self.n_samples + self.n_val) * self.input_layer \
            + self.epochs * self.n_samples * (self.input_layer + 3 * self.rest)

    def dual_width(self) -> int:
        """The dual first layer's inputs: G's n columns, then X W1_0 (and X v0) blocks."""
        return self.n_samples + 2 * self.sizes[1]

    def dual_cost(self) -> float:
        """Multiply-adds of the fit in the dual form: G, X W1_0, X v0, X_val X^T and the
        final W1 once, then the epochs through the small dual network."""
        n, n_in, n_1 = self.n_samples, self.sizes[0] * self.density, self.sizes[1]
        once = n * n * n_in + 3 * n * n_in * n_1 + self.n_val * (n + 2 * n_1) * n_in
        per_epoch = (n + self.n_val) * self.dual_width() * n_1 + n * 3 * self.rest
        return once + self.epochs * per_epoch

    def gram_bytes(self) -> int:
        """The Gram matrix of the dual first layer's basis (width, width)."""
        return self.dual_width() ** 2 * self.itemsize


@dataclass(frozen=True)
class Plan:
    """How a computation runs. ``row`` names the rows of the tables that chose it."""

    backend: str  # "loop", "numpy" or "numba"
    dual: bool  # the first layer in the dual form
    engine: str  # "compiled" (numba: whole epochs in one compiled call), "layers" (batch by
    # batch, layer by layer, in Python: the loop and numpy backends) or "lbfgs" (SciPy's
    # L-BFGS-B over the backend's full-batch loss and gradient)
    row: str
    source: str = "memory"  # "memory", "stream" or "mpi": where the batches come from
    why: str = ""  # for backend="auto": the estimates that chose the backend
    upgrade: str = ""  # a numba kernel set compiling in the background for this fit: once it
    # is cached, the fit switches to numba's compiled epochs (``fastnn.compiling``)


def dual_applies(problem: Problem) -> str | None:
    """None if the dual form can train this problem, else why not."""
    if problem.solver != "sgd":
        name = {"adam": "Adam", "lbfgs": "L-BFGS"}.get(problem.solver, problem.solver)
        return ("the dual form needs SGD (with or without momentum, Nesterov's too): "
                f"{name}'s update is not a fixed linear map of the gradients")
    if problem.source == "stream":
        return "the dual form needs X in memory (its Gram matrix); X is read window by window"
    if problem.source == "mpi":
        return "the dual form does not run data-parallel"
    if problem.input_dropout:
        return ("dropout before the first layer drops inputs, so its update leaves the span "
                "of X's rows that the dual form trains in (dropout between later layers keeps "
                "it)")
    return None


def _dual_pays(problem: Problem) -> bool:
    return (dual_applies(problem) is None and problem.gram_bytes() <= DUAL_MAX_BYTES
            and DUAL_MARGIN * problem.dual_cost() <= problem.primal_cost())


# (name, condition(problem) -> bool, source, justification)
SOURCES = (
    ("data-parallel over MPI", lambda problem: problem.parallel, "mpi",
     "a communicator was given: each rank computes its share of every batch"),
    ("window by window", lambda problem: problem.streamed, "stream",
     "X is read, not loaded: an h5py dataset or a memmap (stream_epoch)"),
    ("in memory", lambda problem: True, "memory", "X is an array or a sparse matrix"),
)


def source_row(problem: Problem) -> tuple:
    """``(row name, source)``: where the batches of ``problem`` come from (``SOURCES``)."""
    return next((name, source) for name, condition, source, _ in SOURCES
                if condition(problem))

# (name, condition(problem, backend) -> bool, engine, justification)
ENGINES = (
    ("L-BFGS", lambda problem, backend: problem.solver == "lbfgs", "lbfgs",
     "the solver asked for: scikit-learn's lbfgs (no simpler path computes it)"),
    ("compiled epochs", lambda problem, backend: backend == "numba", "compiled",
     "every row: numba vs numpy"),
    ("batch by batch", lambda problem, backend: True, "layers",
     "the loop and numpy backends: the reference and the plain vectorized path"),
)


def backend_name(name) -> str:
    """A backend's name, checked: ``"auto"`` or one of ``backends.NAMES`` (a ValueError
    otherwise); "auto" stays as it is (``choose`` decides what it stands for)."""
    if name != "auto" and name not in backends.NAMES:
        raise ValueError(f"backend: unknown name {name!r}; choose one of 'auto', "
                         + ", ".join(repr(n) for n in backends.NAMES))
    return name


def auto_backend(problem: Problem, dual: bool = False) -> tuple:
    """``(backend, why, upgrade)``: what ``"auto"`` stands for (the shortest time to the
    result: numba's epochs plus what is still to be paid for its kernels in this process,
    against numpy's), the estimates that chose it, and the numba kernel set to compile in the
    background while numpy runs ("": none)."""
    if not backends.installed("numba"):
        return "numpy", "numba is not installed", ""
    name = problem.kernel_set
    state, mode = compiling.state(name), compiling.mode()
    numpy, numba = problem.seconds("numpy", dual), problem.seconds("numba", dual)
    load = compiling.load_seconds()
    fixed = {"loaded": 0.0, "cached": load, "missing": compiling.COMPILE_SECONDS + load}[state]
    paid = {"loaded": "loaded", "cached": f"+ {fixed:.2g} s to load its kernels",
            "missing": f"+ {fixed:.2g} s to compile and load its kernels"}[state]
    why = f"estimated: numpy {numpy:.2g} s, numba {numba:.2g} s {paid}"
    if state == "missing" and mode != "foreground":
        upgrade = ""
        wins = numba + load < numpy or \
            compiling.spent(name) + numpy > compiling.COMPILE_SECONDS
        if problem.epochs and problem.source != "mpi" and mode == "background" and wins \
                and compiling.writable():
            upgrade = name
            why += "; numba's kernels compile in the background, the fit switches once cached"
        return "numpy", why, upgrade
    return ("numba" if numba + fixed < numpy else "numpy"), why, ""


def switch_pays(problem: Problem, remaining: int, numpy_epoch: float, dual: bool) -> bool:
    """Whether ``remaining`` epochs of numpy at ``numpy_epoch`` seconds each (measured) would
    take longer than loading numba's kernels and running them there (estimated)."""
    ratio = problem.seconds("numba", dual) / max(problem.seconds("numpy", dual), 1e-12)
    return remaining * numpy_epoch * (1 - ratio) > compiling.load_seconds()


def choose(problem: Problem, backend: str = "auto", dual="auto", pinned: Plan | None = None
           ) -> Plan:
    """The plan of a computation. ``dual``: True (a ValueError where it cannot apply), False,
    or "auto" (where it applies, its Gram matrix fits DUAL_MAX_BYTES and its cost is
    1 / DUAL_MARGIN of the primal's or less). ``pinned``: a plan to run as it is, once checked
    against the problem."""
    backend = backend_name(backend)
    where, source = source_row(problem)
    if problem.solver == "lbfgs" and source != "memory":
        raise ValueError(f"optimizer: L-BFGS trains on the whole of X at once: it needs X in "
                         f"memory, not {where} (use SGD or Adam)")
    if pinned is not None:
        return _checked(pinned, problem, source)
    if dual is True:
        reason = dual_applies(problem)
        if reason is not None:
            raise ValueError(f"dual: {reason}; use dual=False or 'auto'")
    elif dual == "auto":
        dual = _dual_pays(problem)
    why = upgrade = ""
    if backend == "auto":
        backend, why, upgrade = auto_backend(problem, bool(dual))
    name, engine = next((name, engine) for name, condition, engine, _ in ENGINES
                        if condition(problem, backend))
    parts = ([] if source == "memory" else [where]) + (["dual"] if dual else []) + [name]
    return Plan(backend, bool(dual), engine, ", ".join(parts), source, why, upgrade)


def switched(plan: Plan, problem: Problem) -> Plan:
    """The plan a fit switches to once its ``upgrade`` is cached: numba's compiled epochs."""
    name, engine = next((name, engine) for name, condition, engine, _ in ENGINES
                        if condition(problem, "numba"))
    where = source_row(problem)[0]
    parts = ([] if plan.source == "memory" else [where]) + (["dual"] if plan.dual else []) + \
        [name]
    return Plan("numba", plan.dual, engine, ", ".join(parts), plan.source, plan.why, "")


def _checked(plan: Plan, problem: Problem, source: str) -> Plan:
    """A pinned plan, if it can run this problem; else a ValueError saying why not."""
    if not isinstance(plan, Plan):
        raise TypeError(f"plan: expected a fastnn.plans.Plan, got {type(plan).__name__}")
    backend_name(plan.backend)
    if plan.source != source:
        raise ValueError(f"plan: its batches come from {plan.source!r}, this problem's from "
                         f"{source!r}")
    if plan.dual and problem.epochs and dual_applies(problem) is not None:
        raise ValueError(f"plan: {dual_applies(problem)}")
    if (plan.engine == "lbfgs") != (problem.solver == "lbfgs") and problem.epochs:
        raise ValueError(f"plan: engine {plan.engine!r} does not run the solver "
                         f"{problem.solver!r}")
    if plan.engine == "compiled" and plan.backend != "numba":
        raise ValueError("plan: only the numba backend runs compiled epochs")
    return plan
