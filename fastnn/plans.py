"""Which plan runs a fit: the backend, the dual form or not, and the engine that runs the
epochs. Every such choice is made here, from the costs of the shapes.

Three decisions, each a table read top to bottom (the first row whose condition holds), each row
naming the benchmark row (``benchmarks/workloads.py``) where it beats the next simpler choice
by 1.2x or more; a row that stops earning that is deleted.

- ``BACKENDS``: what ``backend="auto"`` stands for.
- The dual form (``dual=True``, the name and meaning of scikit-learn's ``LinearSVC(dual=)``):
  under SGD, with or without momentum, every update of the first layer adds X[B]^T times
  something, so W1 = W1_0 + X^T C with C (n_samples, n_1). With the Gram matrix G = X X^T, made
  once per fit, the first layer's pre-activations are Z1 = X W1_0 + G C + b1 and an update
  writes C[B] only: a step costs n_samples x n_samples x n_1 multiply-adds instead of
  n_samples x n_in x n_1 (``fastnn.dual``). ``dual="auto"`` uses it where it applies, G takes
  at most DUAL_MAX_BYTES and its multiply-adds are below 1 / DUAL_MARGIN of the primal fit's.
- ``ENGINES``: how the backend runs the epochs: numba in compiled epochs (its one engine), the
  others batch by batch in Python.
"""

import contextlib
from dataclasses import dataclass

from . import backends

DUAL_MARGIN = 4.0  # what a multiply-add of the dual (small, serial) may cost over the primal's
DUAL_MAX_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Fit:
    """What a fit's costs depend on."""

    sizes: tuple  # the widths, input first
    n_samples: int
    batch: int
    epochs: int
    itemsize: int  # bytes of one value: 8 (float64) or 4 (float32)
    solver: str  # "sgd" (with or without momentum: linear in the gradient), "adam", "lbfgs"
    n_val: int = 0  # validation samples
    density: float = 1.0  # the share of X's entries that are stored (sparse X: below 1)

    @property
    def input_layer(self) -> float:
        """Multiply-adds of the first layer's products with X per sample (a sparse X's
        nonzeros only)."""
        return self.sizes[0] * self.sizes[1] * self.density

    @property
    def rest(self) -> int:
        """Multiply-adds of the other layers per sample."""
        return sum(a * b for a, b in zip(self.sizes[1:-1], self.sizes[2:]))

    def primal_cost(self) -> int:
        """Multiply-adds of the fit: forward, weight gradients, input gradients past layer 1."""
        return self.epochs * (self.n_samples + self.n_val) * self.input_layer \
            + self.epochs * self.n_samples * (self.input_layer + 3 * self.rest)

    def dual_width(self) -> int:
        """The dual first layer's inputs: G's n columns, then X W1_0 (and X v0) blocks."""
        return self.n_samples + 2 * self.sizes[1]

    def dual_cost(self) -> int:
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
    backend: str  # "loop", "numpy" or "numba"
    dual: bool  # the first layer in the dual form
    engine: str  # "compiled" (numba: whole epochs in one compiled call), "layers" (batch by
    # batch, layer by layer, in Python: the loop and numpy backends) or "lbfgs" (SciPy's
    # L-BFGS-B over the backend's full-batch loss and gradient)
    row: str  # the rows of the tables that chose it


def dual_applies(fit: Fit) -> str | None:
    """None if the dual form can train this fit, else why not."""
    if fit.solver != "sgd":
        name = {"adam": "Adam", "lbfgs": "L-BFGS"}.get(fit.solver, fit.solver)
        return "the dual form needs SGD (with or without momentum, Nesterov's too): " \
               f"{name}'s update is not a fixed linear map of the gradients"
    return None


def _dual_pays(fit: Fit) -> bool:
    return (dual_applies(fit) is None and fit.gram_bytes() <= DUAL_MAX_BYTES
            and DUAL_MARGIN * fit.dual_cost() <= fit.primal_cost())


# (name, condition(fit) -> bool, backend, justification)
BACKENDS = (
    ("numba", lambda fit: True, "numba",
     "every row: numba vs numpy (mnist_epoch, cat_fit, planar_epoch_per_sample, shapes)"),
)

# (name, condition(fit, backend, dual) -> bool, engine, justification)
ENGINES = (
    ("L-BFGS", lambda fit, backend, dual: fit.solver == "lbfgs", "lbfgs",
     "the solver asked for: scikit-learn's lbfgs (no simpler path computes it)"),
    ("compiled epochs", lambda fit, backend, dual: backend == "numba", "compiled",
     "every row: numba vs numpy"),
    ("batch by batch", lambda fit, backend, dual: True, "layers",
     "the loop and numpy backends: the reference and the plain vectorized path"),
)


def auto_backend(fit: Fit) -> str:
    """The backend ``"auto"`` stands for: numpy where Numba does not import, else by
    ``BACKENDS``."""
    if "numba" not in backends.available():
        return "numpy"
    return next(backend for _, condition, backend, _ in BACKENDS if condition(fit))


_forced: list = []


@contextlib.contextmanager
def forced(plan: Plan):
    """Run every fit inside the block by ``plan`` (tests parametrize over plans with it)."""
    _forced.append(plan)
    try:
        yield plan
    finally:
        _forced.pop()


def choose(fit: Fit, backend: str = "auto", dual="auto") -> Plan:
    """The plan of a fit. ``dual``: True (a ValueError where it cannot apply), False, or
    "auto" (where it applies, G fits DUAL_MAX_BYTES and its cost is 1 / DUAL_MARGIN of the
    primal's or less)."""
    if _forced:
        backend, dual = _forced[-1].backend, _forced[-1].dual
    if backend == "auto":
        backend = auto_backend(fit)
    if dual is True:
        reason = dual_applies(fit)
        if reason is not None:
            raise ValueError(f"dual: {reason}; use dual=False or 'auto'")
    elif dual == "auto":
        dual = _dual_pays(fit)
    if _forced:
        return _forced[-1]
    name, engine = next((name, engine) for name, condition, engine, _ in ENGINES
                        if condition(fit, backend, dual))
    return Plan(backend, dual, engine, ("dual, " if dual else "") + name)
