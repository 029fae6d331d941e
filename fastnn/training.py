"""The training loop: epochs, shuffled batches, history, validation, early stopping, logging.

The plan (``fastnn.plans``) says which backend runs the fit and how. The backend runs a chunk of
epochs per call (``train_epochs``): as many as take about CHUNK_SECONDS (timed on the chunk
before), up to the next epoch that is validated, checked for early stopping or logged. Between
chunks Python runs: Ctrl-C (SIGINT) is taken there, so a fit stops within a chunk's time with
the weights, optimizer state and history of its last completed epoch. The backend reports a
non-finite loss (the update of that batch is not applied) or a non-finite update, and training
stops there with the last finite weights: no copies of the weights are kept for it.
"""

import contextlib
import signal
import sys
import threading
import time

import numpy as np

from . import backends, distributed, lbfgs, losses, streams
from .dual import DualFit

CHUNK_VALUES = 1 << 20  # the most sample indices handed to one train_epochs call
CHUNK_SECONDS = 0.2  # the time one train_epochs call aims at (Ctrl-C waits at most this long)


class TrainingDivergedError(FloatingPointError, ValueError):
    """The loss or the weights became NaN or infinite; the model keeps its last finite weights."""


class History:
    """Keras-style record of a ``fit``: ``history.history["loss"]`` has one value per epoch."""

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []
        self.seconds = 0.0
        self.params: dict = {}  # the last fit's settings and plan (fastnn.plans)

    def append(self, epoch: int, metrics: dict) -> None:
        self.epoch.append(epoch)
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class EarlyStopping:
    """Stop ``fit`` when ``monitor`` has not improved for ``patience`` epochs (Keras' callback).

    ``monitor``: ``"loss"``, ``"accuracy"``, ``"val_loss"`` or ``"val_accuracy"`` (default
    ``"val_loss"`` with validation data, else ``"loss"``). With ``restore_best_weights`` the model
    ends with the weights of its best epoch, also when ``epochs`` runs out first.
    """

    def __init__(self, patience: int = 10, monitor: str | None = None, min_delta: float = 0.0,
                 restore_best_weights: bool = True):
        from . import checks

        self.patience = checks.positive_int("patience", patience)
        if monitor is not None:
            checks.choice("monitor", monitor, MONITORS)
        self.monitor = monitor
        self.min_delta = checks.positive_float("min_delta", min_delta, allow_zero=True)
        self.restore_best_weights = bool(restore_best_weights)
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None

    def check(self, validation: bool, classify: bool) -> None:
        """Fix the monitored metric for a fit, or a ValueError if that fit will not have it."""
        monitor = self.monitor or ("val_loss" if validation else "loss")
        if monitor.startswith("val_") and not validation:
            raise ValueError(f"monitor: {monitor!r} needs validation_data")
        if monitor.endswith("accuracy") and not classify:
            raise ValueError(f"monitor: {monitor!r} needs a classification loss ('bce', 'cce')")
        self._key, self._sign = monitor, (1.0 if monitor.endswith("loss") else -1.0)

    def start(self, flat: np.ndarray) -> None:
        """Forget any earlier fit; the starting weights count as the best so far."""
        self._best, self._wait = np.inf, 0
        self._weights = flat.copy() if self.restore_best_weights else None
        self.stopped_epoch = self.best_epoch = None

    @property
    def monitored(self) -> str:
        """The metric this fit watches (after ``check``)."""
        return self._key

    def update(self, epoch: int, metrics: dict, flat: np.ndarray) -> bool:
        """Record one epoch; True when its patience has run out (``restart`` goes on)."""
        score = self._sign * metrics[self._key]
        if score < self._best - self.min_delta:
            self._best, self._wait, self.best_epoch = score, 0, epoch
            if self._weights is not None:
                np.copyto(self._weights, flat)
            return False
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def restart(self) -> None:
        """Start waiting anew (an adaptive schedule cut the rate instead of stopping)."""
        self._wait = 0
        self.stopped_epoch = None

    def finish(self, flat: np.ndarray) -> None:
        """Put the best epoch's weights back (with restore_best_weights)."""
        if self._weights is not None and self.best_epoch is not None:
            np.copyto(flat, self._weights)


MONITORS = {"loss": 1, "accuracy": 1, "val_loss": 1, "val_accuracy": 1}


def _log(epoch: int, epochs: int, metrics: dict, seconds: float) -> None:
    parts = " - ".join(f"{k}: {v:.6g}" for k, v in metrics.items())
    print(f"epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {parts}", file=sys.stdout, flush=True)


def evaluate(kernels, flat, net, loss: int, X, Y) -> dict:
    """``{"loss": ..., "accuracy": ...}`` of the network (flat, net) on X, Y (accuracy for the
    classification losses)."""
    if isinstance(X, streams.Stream):
        value, correct = streams.evaluate(kernels, flat, net, loss, X, Y)
    else:
        value, correct = kernels.evaluate(flat, net, loss, X, Y)
    result = {"loss": value}
    if loss in losses.CLASSIFICATION:
        elements = X.shape[0] if loss == losses.CCE else Y.size
        result["accuracy"] = correct / elements
    return result


class _Primal:
    """A fit on the model's own weights and optimizer state (``optimizer`` None: L-BFGS, whose
    state is SciPy's)."""

    def __init__(self, model, kernels, X, optimizer, X_val, prepare=True):
        self.flat, self.net = model._flat, model._net()
        self.rule = None if optimizer is None else optimizer.bind(self.flat)
        self.inputs = kernels.prepare_inputs(X) if prepare else None
        self.X_val = X_val

    def finish(self) -> None:
        pass


class _Interrupts:
    """SIGINT, held until the chunk under way has been recorded (``check`` raises it then); a
    second Ctrl-C raises at once. Only in the main thread (where Python takes signals). In a
    data-parallel fit every rank learns of a Ctrl-C on any rank (one allgather per check), so
    all stop after the same epoch and none waits in a collective."""

    def __init__(self, comm=None):
        self.pending = False
        self.comm = comm

    def _handle(self, signum, frame):
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def check(self) -> None:
        pending = self.pending if self.comm is None else any(self.comm.allgather(self.pending))
        if pending:
            self.pending = False
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self):
        if threading.current_thread() is not threading.main_thread() or \
                signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            yield self  # (another handler is the caller's: leave it alone)
            return
        signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self.check()  # a Ctrl-C during the last chunk


class Epochs:
    """What follows each epoch of a fit (an iteration of L-BFGS): its metrics and those of the
    validation data into the history, the log line, early stopping and an adaptive schedule's
    cut of the rate."""

    def __init__(self, model, kernels, fit, loss, Y, optimizer, epochs, validation, log_every,
                 stopping):
        self.history, self.kernels, self.fit, self.loss = model.history, kernels, fit, loss
        self.resumed = len(self.history.epoch)  # a resumed fit goes on counting
        self.elements = Y.shape[0] if loss == losses.CCE else Y.size
        self.optimizer, self.epochs, self.log_every = optimizer, epochs, log_every
        self.Y_val = None if validation is None else validation[1]
        self.stopping, self.done, self.start = stopping, 0, time.perf_counter()
        self.scheduled = getattr(optimizer, "schedule", "constant") != "constant"
        if stopping is not None:
            stopping.start(fit.flat)

    def record(self, value: float, correct: int, lr: float | None = None) -> bool:
        """One epoch whose training loss was ``value`` (``lr``: the rate it ran at); True when
        the fit should stop (early stopping)."""
        metrics = {"loss": float(value)}
        if self.loss in losses.CLASSIFICATION:
            metrics["accuracy"] = correct / self.elements
        if self.Y_val is not None:
            for key, score in evaluate(self.kernels, self.fit.flat, self.fit.net, self.loss,
                                       self.fit.X_val, self.Y_val).items():
                metrics["val_" + key] = score
        if self.scheduled and lr is not None:
            metrics["lr"] = lr
        epoch = self.resumed + self.done
        self.history.append(epoch, metrics)
        self.done += 1
        if self.log_every and (self.done % self.log_every == 0
                               or self.done in (1, self.epochs)):
            _log(self.done - 1, self.epochs, metrics, time.perf_counter() - self.start)
        if self.stopping is None or not self.stopping.update(epoch, metrics, self.fit.flat):
            return False
        if self.optimizer is not None and self.optimizer.reduce():
            self.stopping.restart()
            if self.log_every:
                print(f"epoch {self.done}: no better {self.stopping.monitored} for "
                      f"{self.stopping.patience} epochs: learning rate now "
                      f"{self.optimizer.learning_rate:.6g}", flush=True)
            return False
        if self.log_every:
            print(f"early stop at epoch {self.done}: no better {self.stopping.monitored} for "
                  f"{self.stopping.patience} epochs", flush=True)
        return True

    def finish(self) -> None:
        if self.stopping is not None:
            self.stopping.finish(self.fit.flat)


def diverged(epoch: int, epochs: int, value: float) -> TrainingDivergedError:
    """The error of a fit that met a non-finite loss (or update) in ``epoch`` (1-based)."""
    what = (f"the loss became {value}" if not np.isfinite(value) else
            f"an update would have made weights NaN or infinite (the loss was still "
            f"{value:.6g})")
    return TrainingDivergedError(
        f"training diverged at epoch {epoch} of {epochs}: {what} (try a smaller lr); the "
        f"model keeps the last finite weights, from before that update")


def run(model, plan, X, Y, objective, optimizer, epochs, batch_size, shuffle, shuffler,
        validation, log_every, stopping, comm=None):
    """Train ``model`` in place for ``epochs`` epochs by ``plan`` (arguments already checked),
    minimizing ``objective`` (``fastnn.objectives``); with ``comm``, data-parallel over MPI
    (``fastnn.distributed``)."""
    kernels = backends.get(plan.backend)
    history = model.history
    X_val = None if validation is None else validation[0]
    start = time.perf_counter()
    stream = isinstance(X, streams.Stream)
    if plan.dual:
        fit = DualFit(model, kernels, X, optimizer, X_val)
    elif plan.engine == "lbfgs":
        fit = _Primal(model, kernels, X, None, X_val, False)
    else:  # (streamed and data-parallel epochs read X batch by batch themselves)
        fit = _Primal(model, kernels, X, optimizer, X_val, not stream and comm is None)
    if comm is not None:
        distributed.synchronize(comm, model, fit.rule, shuffler)
    model._live = fit
    epochs_done = Epochs(model, kernels, fit, objective.loss, Y,
                         None if plan.engine == "lbfgs" else optimizer, epochs, validation,
                         log_every, stopping)
    interrupts = _Interrupts(comm)
    try:
        with interrupts.held():
            if plan.engine == "lbfgs":
                lbfgs.run(kernels, fit, objective, X, Y, optimizer, epochs, epochs_done,
                          interrupts)
            else:
                _epochs(kernels, fit, objective, X, Y, optimizer, epochs, batch_size, shuffle,
                        shuffler, plan, comm, stream, epochs_done, interrupts)
            epochs_done.finish()
    except Exception as error:
        if comm is not None and not isinstance(error, TrainingDivergedError):
            distributed.abort_on_error(comm, error)  # (divergence: every rank alike, no wait)
        raise
    finally:
        model._live = None
        fit.finish()
        history.seconds += time.perf_counter() - start
    return history


def _epochs(kernels, fit, objective, X, Y, optimizer, epochs, batch_size, shuffle, shuffler,
            plan, comm, stream, epochs_done, interrupts) -> None:
    """The epochs of a gradient-descent fit, a chunk of them per call of the backend."""
    n = X.shape[0]
    every = np.arange(n)
    one_by_one = (epochs_done.Y_val is not None or epochs_done.stopping is not None or stream
                  or comm is not None or optimizer.schedule == "invscaling")
    most = 1 if one_by_one else max(1, CHUNK_VALUES // n)
    log_every = epochs_done.log_every
    per_epoch = None  # seconds an epoch took in the last chunk
    epoch = 0
    while epoch < epochs:
        interrupts.check()
        count = 1 if per_epoch is None else \
            max(1, min(most, int(CHUNK_SECONDS / max(per_epoch, 1e-9))))
        count = min(count, epochs - epoch)
        if log_every:  # end the chunk at the next epoch that is logged
            logged = epoch if epoch == 0 else (epoch // log_every + 1) * log_every - 1
            count = min(count, max(1, min(logged, epochs - 1) - epoch + 1))
        lr = optimizer.learning_rate
        fit.rule = fit.rule.at_rate(lr)
        out = np.zeros((count, 2))
        began = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):  # the kernels report these
            if comm is not None:
                done = distributed.epoch(kernels, fit, objective, X, Y, batch_size, fit.rule,
                                         shuffler, shuffle, comm, out)
            elif stream:
                done = streams.epoch(kernels, fit, objective, X, Y, batch_size, fit.rule,
                                     plan.engine, shuffler.rng, shuffle, out,
                                     lambda: interrupts.pending)
            else:
                orders = np.empty((count, n), np.int64)
                for row in orders:
                    row[:] = shuffler.next(n) if shuffle else every
                done = kernels.train_epochs(fit.flat, fit.net, objective, fit.inputs, Y,
                                            orders, batch_size, fit.rule, plan.engine, out)
        per_epoch = (time.perf_counter() - began) / max(done, 1)
        for e in range(done):
            optimizer.epoch_ends(n)
            epoch += 1
            if epochs_done.record(out[e, 0], int(out[e, 1]), lr):
                return
        if done < count:
            raise diverged(epoch + 1, epochs, out[done, 0])
