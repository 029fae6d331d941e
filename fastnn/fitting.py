"""One fit as an object (``Fit``), its settings (``Settings``), and the metrics of a network
on labelled data (``metrics``).

The model checks ``fit``'s arguments into one ``Settings`` and builds a ``Fit`` from its public
state: the weights it trains, the network, the settings, its shuffling stream and the plan.
``training.run`` drives it: ``start`` lays the inputs out for the backend (and sets the dual
form up: ``fastnn.dual``), ``train`` runs a chunk of epochs from the plan's batch source (the
one branch on it: ``BATCH_SOURCES``), ``finish`` writes the weights back where the model keeps
them. Nothing here knows the model.
"""

from dataclasses import dataclass, replace

import numpy as np

from . import backends, compiling, distributed, losses, plans, streams
from .dual import DualFit
from .network import Batches, Objective


def metrics(kernels, flat, net, loss: int, X, Y) -> dict:
    """``{"loss": ..., "accuracy": ...}`` of the network (flat, net) on X, Y (accuracy for the
    classification losses); X in memory or a stream."""
    if isinstance(X, streams.Stream):
        value, correct = streams.evaluate(kernels, flat, net, loss, X, Y)
    else:
        value, correct = kernels.evaluate(flat, net, loss, X, Y)
    result = {"loss": value}
    if loss in losses.CLASSIFICATION:
        result["accuracy"] = losses.accuracy(loss, correct, Y)
    return result


@dataclass(frozen=True)
class Settings:
    """A fit's settings, every one checked (``Sequential.fit`` makes them from its arguments).

    A new option of ``fit`` is a field here, its check in ``Sequential._settings``, and its use
    where it acts."""

    X: object  # (n, n_in): an array, a sparse matrix or a ``streams.Stream``
    Y: np.ndarray  # (n, k) the targets
    objective: Objective  # the loss, the samples' weights, the L2 penalty
    optimizer: object  # an optimizer of ``fastnn.optimizers`` (its state is the fit's)
    epochs: int  # epochs (L-BFGS: iterations)
    batch: int  # samples a batch (n: full batch)
    shuffle: bool = True  # each epoch visits the last one's order, shuffled
    validation: tuple | None = None  # (X_val, Y_val), checked
    log_every: int | None = None  # a line every that many epochs; None: silent
    stopping: object = None  # a ``training.Stopping`` (early stopping) or None
    comm: object = None  # an mpi4py communicator: data-parallel (each rank trains its share)
    callbacks: object = None  # a ``callbacks.CallbackList`` or None

    @property
    def n_val(self) -> int:
        return 0 if self.validation is None else self.validation[0].shape[0]


class Fit:
    """One fit: what it trains, on what, by which plan.

    Parameters
    ----------
    plan : fastnn.plans.Plan
    params : ndarray (n_params,)
        The model's flat weights: trained in place (the primal form) or written back by
        ``finish`` (the dual form).
    net : fastnn.network.Net
    settings : Settings
    shuffler : fastnn.shuffling.Shuffle
        The model's shuffling stream.
    problem : fastnn.plans.Problem, optional
        What the planner knew (for a switch of backend during the fit).
    """

    def __init__(self, plan, params, net, settings: Settings, shuffler, problem=None):
        self.plan, self.kernels = plan, backends.get(plan.backend)
        self.params, self.settings = params, settings
        self.shuffler, self.problem = shuffler, problem
        self.X, self.Y, self.objective = settings.X, settings.Y, settings.objective
        self.optimizer, self.validation = settings.optimizer, settings.validation
        self.comm = settings.comm
        # what the kernels train: the model's own weights and net, or the dual ones (start)
        self.flat, self.net, self.rule, self.inputs, self.X_val = params, net, None, None, None
        self._dual = None

    @property
    def lbfgs(self) -> bool:
        return self.plan.engine == "lbfgs"

    def start(self) -> None:
        """Lay the inputs out for the backend, set the dual form up, and (MPI) give every rank
        rank 0's weights, optimizer state and shuffling stream."""
        X_val = None if self.validation is None else self.validation[0]
        if self.plan.dual:
            self._dual = DualFit(self.kernels, self.params, self.net, self.optimizer, self.X,
                                 X_val)
            self.flat, self.net, self.rule = self._dual.flat, self._dual.net, self._dual.rule
            self.inputs, self.X_val = self._dual.inputs, self._dual.X_val
        else:
            self.rule = None if self.lbfgs else self.optimizer.bind(self.flat)
            if self.plan.source == "memory":
                self.inputs = self.kernels.prepare_inputs(self.X)
            self.X_val = X_val
        if self.comm is not None:
            distributed.synchronize(self.comm, self.flat, self.rule, self.shuffler)
        if self.plan.upgrade:
            compiling.start_background([self.plan.upgrade])

    def switch(self, remaining: int, numpy_epoch: float) -> bool:
        """Between epochs of a fit on numpy whose plan has an ``upgrade`` (numba's kernels
        compiling in the background): once they are cached, go on with numba's compiled
        epochs if the ``remaining`` epochs pay for loading them (``numpy_epoch``: seconds an
        epoch took here). True if it switched."""
        if not self.plan.upgrade or compiling.state(self.plan.upgrade) != "cached":
            return False
        if not plans.switch_pays(self.problem, remaining, numpy_epoch, self.plan.dual):
            self.plan = replace(self.plan, upgrade="")
            return False
        self.plan = plans.switched(self.plan, self.problem)
        self.kernels = backends.get(self.plan.backend)
        if self.inputs is not None:
            self.inputs = self.kernels.prepare_inputs(self.inputs)
        if self._dual is not None:
            self._dual.kernels = self.kernels
        return True

    def account(self, seconds: float) -> None:
        """The fit took ``seconds``: where "auto" ran it on numpy, a compiled set could have
        (``compiling.spend``: a process whose fits add up to a compile's time compiles)."""
        if self.plan.backend == "numpy" and self.plan.why and self.problem is not None:
            compiling.spend(self.problem.kernel_set, seconds)

    def at_rate(self, lr: float) -> None:
        """The next epochs step at ``lr`` (the optimizer's schedule)."""
        self.rule = self.rule.at_rate(lr)

    def train(self, count: int, out: np.ndarray, interrupted) -> int:
        """Up to ``count`` epochs (one for a stream or MPI) from the plan's batch source
        (``BATCH_SOURCES``); ``out[e] = (loss, correct)`` of epoch e (``train_epochs`` of the
        backend contract). Returns the epochs completed: fewer where a loss or an update was
        not finite. ``interrupted()`` tells a streamed epoch that Ctrl-C is pending."""
        return BATCH_SOURCES[self.plan.source](self, count, out, interrupted)

    def memory_epochs(self, count: int, out: np.ndarray, interrupted=None) -> int:
        """``count`` epochs over X in memory, in one call of the backend's ``train_epochs``."""
        n = self.Y.shape[0]
        orders = np.empty((count, n), np.int64)
        for row in orders:
            row[:] = self.shuffler.next(n) if self.settings.shuffle else np.arange(n)
        batches = Batches(self.inputs, self.Y, orders, self.settings.batch)
        return self.kernels.train_epochs(self.flat, self.net, self.objective, batches,
                                         self.rule, out)

    def loss_and_gradients(self, grads: np.ndarray) -> tuple:
        """``(value, correct)`` of the objective over all of X at the current weights; its
        gradient into ``grads`` (L-BFGS's function)."""
        return self.kernels.loss_and_gradients(self.flat, self.net, self.objective,
                                               self.inputs, self.Y, grads)

    def validation_metrics(self) -> dict:
        """``{"val_loss": ..., "val_accuracy": ...}`` at the current weights."""
        return {"val_" + key: value for key, value in metrics(
            self.kernels, self.flat, self.net, self.objective.loss, self.X_val,
            self.validation[1]).items()}

    def finish(self) -> None:
        """Write the weights (and optimizer state) back where the model keeps them: in the
        dual form, W1 and its velocity formed from the dual weights (the primal form trains
        them in place). Any time during the fit, as often as wanted."""
        if self._dual is not None:
            self._dual.finish()


# Where a plan's batches come from (``plans.SOURCES`` decides): each runs epochs of a fit.
BATCH_SOURCES = {"memory": Fit.memory_epochs, "stream": streams.epoch, "mpi": distributed.epoch}
