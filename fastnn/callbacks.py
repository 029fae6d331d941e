"""Callbacks: Keras' protocol, called by ``fit(..., callbacks=[...])``.

A callback gets the model before training (``set_model``: ``callback.model``), then
``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)`` and ``on_epoch_end(epoch, logs)`` for
each epoch (an L-BFGS fit: each iteration), and ``on_train_end(logs)``; ``logs`` at an epoch's
end is its history row (``loss``, ``accuracy``, ``val_loss``, ...) with the rate it ran at,
``lr``. Setting ``model.stop_training = True`` ends the fit after that epoch. A fit with
callbacks runs the compiled engine one epoch a call (without, in chunks, as before).

Built in: ``ModelCheckpoint``, ``ReduceLROnPlateau``, ``CSVLogger``, ``LearningRateScheduler``
and ``EarlyStopping`` (``fastnn.training``'s: in ``callbacks`` it is the fit's early stopping,
as ``fit(early_stopping=...)``).
"""

import csv
import math
import os
from pathlib import Path

from . import checks, io
from .training import EarlyStopping

__all__ = ["Callback", "CallbackList", "CSVLogger", "EarlyStopping", "LearningRateScheduler",
           "ModelCheckpoint", "ReduceLROnPlateau"]


class Callback:
    """Keras' callback protocol; every method does nothing here."""

    model = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Before epoch ``epoch`` (counted over the model's fits, from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """After epoch ``epoch``; ``logs``: its history row and rate."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """After the last epoch (the model holds the fit's final weights)."""


class CallbackList:
    """A fit's callbacks, called in order; ``stop`` is the model's ``stop_training``.
    ``metrics``: the names the fit's logs will have; a callback's ``monitor`` (the built-in
    ones') must be one of them, and one that sets the rate (``sets_rate``) needs ``"lr"`` (not
    L-BFGS): else a ValueError, before the fit starts."""

    def __init__(self, callbacks, model, metrics):
        self.callbacks, self.model = list(callbacks), model
        for callback in self.callbacks:
            monitor = getattr(callback, "monitor", None)
            if monitor is not None and monitor not in metrics:
                raise ValueError(f"{type(callback).__name__}: monitor {monitor!r} is not among "
                                 f"this fit's metrics {metrics}")
            if getattr(callback, "sets_rate", False) and "lr" not in metrics:
                raise ValueError(f"{type(callback).__name__}: sets the learning rate, which "
                                 f"L-BFGS has none of")
        for callback in self.callbacks:
            callback.set_model(model)

    @property
    def stop(self) -> bool:
        return bool(getattr(self.model, "stop_training", False))

    def on_train_begin(self, logs=None) -> None:
        self.model.stop_training = False
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_train_end(logs)


def _sign(mode: str, monitor: str) -> float:
    """1 where lower is better ("min"), -1 where higher is ("max"); "auto": higher for the
    accuracies."""
    checks.choice("mode", mode, {"auto": 0, "min": 1, "max": 2})
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    return -1.0 if mode == "max" else 1.0


class ModelCheckpoint(Callback):
    """Save the model after each epoch, or only when ``monitor`` improves
    (``save_best_only``), with ``Sequential.save`` (atomic: a file whole or not at all).

    Parameters
    ----------
    path : str or path-like
        The file; may hold ``{epoch}`` (counted from 1) and the logs' names, as
        ``"cat-{epoch:03d}-{val_loss:.3f}.h5"``.
    monitor : str
        With ``save_best_only``: the metric whose best epoch is kept.
    save_best_only : bool
    mode : str
        "auto", "min" or "max".
    """

    def __init__(self, path, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto"):
        self.path, self.save_best_only = os.fspath(path), checks.flag("save_best_only",
                                                                      save_best_only)
        if "{" not in os.path.dirname(self.path):  # (a folder named by the logs: at the save)
            io.check_folder(self.path)
        self.monitor = monitor if self.save_best_only else None  # (what the fit must log)
        self.sign, self.best = _sign(mode, monitor), math.inf

    def on_train_begin(self, logs=None) -> None:
        self.best = math.inf

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        if self.save_best_only:
            value = self.sign * logs[self.monitor]
            if not value < self.best:
                return
            self.best = value
        self.model.save(self.path.format(epoch=epoch + 1, **logs))


class ReduceLROnPlateau(Callback):
    """Multiply the optimizer's rate by ``factor`` after ``patience`` epochs without an
    improvement of ``monitor`` by more than ``min_delta``, down to ``min_lr``; wait
    ``cooldown`` epochs after a cut before counting again (Keras').

    Parameters
    ----------
    monitor : str
    factor : float
        In (0, 1).
    patience : int
    min_lr : float
    min_delta : float
    cooldown : int
    mode : str
        "auto", "min" or "max".
    """

    sets_rate = True

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 min_lr: float = 0.0, min_delta: float = 1e-4, cooldown: int = 0,
                 mode: str = "auto"):
        self.factor = checks.positive_float("factor", factor, below_one=True)
        self.patience = checks.positive_int("patience", patience)
        self.min_lr = checks.positive_float("min_lr", min_lr, allow_zero=True)
        self.min_delta = checks.positive_float("min_delta", min_delta, allow_zero=True)
        self.cooldown = checks.positive_int("cooldown", cooldown, allow_zero=True)
        self.monitor, self.sign = monitor, _sign(mode, monitor)

    def on_train_begin(self, logs=None) -> None:
        self.best, self.wait, self.cooling = math.inf, 0, 0

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        value = self.sign * logs[self.monitor]
        if self.cooling > 0:
            self.cooling -= 1
            self.wait = 0
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return
        if self.cooling > 0:
            return
        self.wait += 1
        optimizer = self.model.optimizer
        if self.wait >= self.patience and optimizer.lr > self.min_lr:
            optimizer.lr = max(optimizer.lr * self.factor, self.min_lr)
            self.wait, self.cooling = 0, self.cooldown


class LearningRateScheduler(Callback):
    """Set the optimizer's rate before each epoch to ``schedule(epoch, lr)`` (Keras'; epoch
    counted over the model's fits, from 0, lr the current rate)."""

    sets_rate = True

    def __init__(self, schedule):
        if not callable(schedule):
            raise TypeError(f"schedule: expected a function (epoch, lr) -> lr, got "
                            f"{type(schedule).__name__}")
        self.schedule = schedule

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        optimizer = self.model.optimizer
        optimizer.lr = checks.positive_float("LearningRateScheduler: schedule(epoch, lr)",
                                             self.schedule(epoch, optimizer.lr))


class CSVLogger(Callback):
    """Each epoch's logs as a row of a CSV file (Keras'): ``epoch`` (from 0), then the logs'
    names in sorted order; ``append`` goes on with an existing file."""

    def __init__(self, path, separator: str = ",", append: bool = False):
        self.path, self.separator = Path(path), separator
        self.append = checks.flag("append", append)
        io.check_folder(self.path)
        self._file = self._writer = None

    def on_train_begin(self, logs=None) -> None:
        exists = self.append and self.path.exists() and self.path.stat().st_size > 0
        self._file = open(self.path, "a" if self.append else "w", newline="")
        self._writer, self._header = None, exists

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, ["epoch", *sorted(logs)],
                                          delimiter=self.separator)
            if not self._header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **logs})
        self._file.flush()

    def on_train_end(self, logs=None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
