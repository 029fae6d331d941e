"""The training loop: epochs, history, validation, early stopping, schedules, logging, Ctrl-C.

``run`` drives one fit (``fastnn.fitting.Fit``): the fit runs a chunk of epochs per call
(``Fit.train``): as many as take about CHUNK_SECONDS (timed on the chunk before), up to the next
epoch that is validated, checked for early stopping, logged, called back or run at another
rate. Between chunks Python runs: Ctrl-C (SIGINT) is taken there, so a fit stops within a
chunk's time with the weights, optimizer state and history of its last completed epoch. The
backend reports a non-finite loss (the update of that batch is not applied) or a non-finite
update, and training stops there with the last finite weights: no copies of the weights are
kept for it. L-BFGS runs its iterations instead (``fastnn.lbfgs``), each one an epoch of the
history.
"""

import contextlib
import math
import signal
import sys
import threading
import time

import numpy as np

from . import checks, distributed, lbfgs, losses, optimizers

CHUNK_VALUES = 1 << 20  # the most sample indices handed to one train_epochs call
CHUNK_SECONDS = 0.2  # the time one train_epochs call aims at (Ctrl-C waits at most this long)


class TrainingDivergedError(FloatingPointError, ValueError):
    """The loss or the weights became NaN or infinite; the model keeps its last finite weights."""


class History:
    """Keras-style record of a model's fits: ``history.history["loss"]`` has one value per
    epoch, and goes on over later fits.

    Attributes
    ----------
    history : dict
        Per metric (``"loss"``, ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``, ``"lr"``),
        one value per epoch (NaN in the epochs of a fit that did not log it).
    epoch : list of int
        The epochs' numbers, counted over every fit of the model.
    seconds : float
        The time spent in fits.
    params : dict
        The last fit's settings and plan (``fastnn.plans``).
    """

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []
        self.seconds = 0.0
        self.params: dict = {}  # the last fit's settings and plan (fastnn.plans)

    def append(self, epoch: int, metrics: dict) -> None:
        """One epoch's row; a metric that some fits log and others do not (``val_loss``
        without validation data) is NaN in the epochs it was not logged in."""
        for key in metrics.keys() - self.history.keys():
            self.history[key] = [math.nan] * len(self.epoch)
        self.epoch.append(epoch)
        for key, values in self.history.items():
            values.append(metrics.get(key, math.nan))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class Stopping:
    """What the training loop asks of a stopping rule, once per fit and after each epoch:
    ``check`` (at ``fit``, before any work), ``start``, ``update`` (True: stop), ``restart``
    (an adaptive schedule cut the rate instead of stopping), ``finish``. ``monitored`` and
    ``patience`` name it in the log. These do nothing."""

    patience = 0
    monitored = ""

    def check(self, validation: bool, classify: bool) -> None:
        """Fix what is watched for a fit, or a ValueError if that fit will not have it."""

    def start(self, flat: np.ndarray) -> None:
        """A fit starts from the weights ``flat``."""

    def update(self, epoch: int, metrics: dict, flat: np.ndarray) -> bool:
        """One epoch ended with ``metrics`` and the weights ``flat``; True: stop."""
        return False

    def restart(self) -> None:
        """Start waiting anew."""

    def finish(self, flat: np.ndarray) -> None:
        """The fit ended with the weights ``flat`` (may put others back)."""


class EarlyStopping(Stopping):
    """Stop ``fit`` when ``monitor`` has not improved for ``patience`` epochs (Keras' callback);
    with an adaptive schedule, cut the rate instead (``fastnn.optimizers``).

    Parameters
    ----------
    patience : int
        Epochs without improvement before it stops.
    monitor : str, optional
        ``"loss"``, ``"accuracy"``, ``"val_loss"`` or ``"val_accuracy"`` (default
        ``"val_loss"`` with validation data, else ``"loss"``).
    min_delta : float
        The least change that counts as an improvement.
    restore_best_weights : bool
        End with the weights of the best epoch, also when ``epochs`` runs out first.

    Raises
    ------
    ValueError
        A bad setting (named); at ``fit``, a monitored metric the fit will not have.
    """

    def __init__(self, patience: int = 10, monitor: str | None = None, min_delta: float = 0.0,
                 restore_best_weights: bool = True):
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


class Recorder:
    """What follows each epoch of a fit (an iteration of L-BFGS): its metrics and those of the
    validation data into the history, the log line, early stopping and an adaptive schedule's
    cut of the rate. ``done``: the epochs recorded so far."""

    def __init__(self, history, fit):
        self.history, self.fit, self.loss = history, fit, fit.objective.loss
        epochs, log_every, stopping = (fit.settings.epochs, fit.settings.log_every,
                                       fit.settings.stopping)
        self.resumed = len(history.epoch)  # a resumed fit goes on counting
        self.optimizer = None if fit.lbfgs else fit.optimizer
        self.epochs, self.log_every, self.stopping = epochs, log_every, stopping
        self.done, self.start = 0, time.perf_counter()
        self.scheduled = self.optimizer is not None and self.optimizer.schedule != "constant"
        self.callbacks, self.logs = fit.settings.callbacks, {}

    @property
    def epoch(self) -> int:
        """The next epoch's number, counted over the model's fits from 0."""
        return self.resumed + self.done

    def begin(self) -> None:
        """An epoch (an L-BFGS iteration) is about to run: the callbacks' ``on_epoch_begin``
        (which may set the optimizer's rate)."""
        if self.callbacks is not None:
            self.callbacks.on_epoch_begin(self.epoch)

    def record(self, value: float, correct: int, lr: float | None = None) -> bool:
        """One epoch whose training loss was ``value`` (``lr``: the rate it ran at); True when
        the fit should stop (early stopping)."""
        metrics = {"loss": float(value)}
        if self.loss in losses.CLASSIFICATION:
            metrics["accuracy"] = losses.accuracy(self.loss, correct, self.fit.Y)
        if self.fit.validation is not None:
            metrics.update(self.fit.validation_metrics())
        if self.scheduled and lr is not None:
            metrics["lr"] = lr
        epoch = self.epoch
        self.history.append(epoch, metrics)
        self.done += 1
        if self.log_every and (self.done % self.log_every == 0
                               or self.done in (1, self.epochs)):
            _log(self.done - 1, self.epochs, metrics, time.perf_counter() - self.start)
        if self.callbacks is not None:
            self.fit.finish()  # (the model holds this epoch's weights while they run)
            self.logs = dict(metrics) if lr is None else {**metrics, "lr": lr}
            self.callbacks.on_epoch_end(epoch, dict(self.logs))
            if self.callbacks.stop:
                return True
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


def diverged(epoch: int, epochs: int, value: float) -> TrainingDivergedError:
    """The error of a fit that met a non-finite loss (or update) in ``epoch`` (1-based)."""
    what = (f"the loss became {value}" if not np.isfinite(value) else
            f"an update would have made weights NaN or infinite (the loss was still "
            f"{value:.6g})")
    return TrainingDivergedError(
        f"training diverged at epoch {epoch} of {epochs}: {what} (try a smaller lr); the "
        f"model keeps the last finite weights, from before that update")


def run(fit, history: History) -> History:
    """Train by ``fit`` (``fastnn.fitting.Fit``, every setting already checked) for its epochs
    (L-BFGS: iterations), recording them in ``history``; ``fit.finish`` writes the weights
    back, also when it stops early or fails."""
    start = time.perf_counter()
    interrupts = _Interrupts(fit.comm)
    stopping = fit.settings.stopping
    callbacks = fit.settings.callbacks
    try:
        fit.start()
        if stopping is not None:
            stopping.start(fit.flat)
        recorder = Recorder(history, fit)
        if callbacks is not None:
            callbacks.on_train_begin()
        with interrupts.held():
            if fit.lbfgs:
                lbfgs.run(fit, recorder, interrupts)
            else:
                _epochs(fit, recorder, interrupts)
            if stopping is not None:
                stopping.finish(fit.flat)
        if callbacks is not None:
            fit.finish()
            callbacks.on_train_end(dict(recorder.logs))
    except Exception as error:
        if fit.comm is not None and not isinstance(error, TrainingDivergedError):
            distributed.abort_on_error(fit.comm, error)  # (divergence: every rank alike)
        raise
    finally:
        fit.finish()
        fit.account(time.perf_counter() - start)
        history.seconds += time.perf_counter() - start
    return history


def _epochs(fit, recorder: Recorder, interrupts: _Interrupts) -> None:
    """The epochs of a gradient-descent fit, a chunk of them per call of ``fit.train``."""
    optimizer, n, epochs = fit.optimizer, fit.Y.shape[0], fit.settings.epochs
    one_by_one = (fit.validation is not None or recorder.stopping is not None
                  or recorder.callbacks is not None or fit.plan.source != "memory"
                  or optimizer.schedule in optimizers.PER_EPOCH)
    most = 1 if one_by_one else max(1, CHUNK_VALUES // n)
    log_every = recorder.log_every
    per_epoch = None  # seconds an epoch took in the last chunk
    epoch = 0
    while epoch < epochs:
        interrupts.check()
        if per_epoch is not None and fit.switch(epochs - epoch, per_epoch):
            recorder.history.params.update(
                switch=(epoch, fit.plan.row), backend=fit.plan.backend, engine=fit.plan.engine,
                plan=fit.plan.row)
            per_epoch = None  # (time the new engine's first chunk anew)
        count = 1 if per_epoch is None else \
            max(1, min(most, int(CHUNK_SECONDS / max(per_epoch, 1e-9))))
        count = min(count, epochs - epoch)
        if log_every:  # end the chunk at the next epoch that is logged
            logged = epoch if epoch == 0 else (epoch // log_every + 1) * log_every - 1
            count = min(count, max(1, min(logged, epochs - 1) - epoch + 1))
        recorder.begin()  # (with callbacks one epoch a chunk: they may set the rate)
        lr = optimizer.learning_rate
        fit.at_rate(lr)
        out = np.zeros((count, 2))
        began = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):  # the kernels report these
            done = fit.train(count, out, lambda: interrupts.pending)
        per_epoch = (time.perf_counter() - began) / max(done, 1)
        for e in range(done):
            optimizer.epoch_ends(n)
            epoch += 1
            if recorder.record(out[e, 0], int(out[e, 1]), lr):
                return
        if done < count:
            raise diverged(epoch + 1, epochs, out[done, 0])
