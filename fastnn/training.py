"""The training loop: epochs, shuffled batches, history, the divergence check, backend choice.

The backend runs one epoch at a time (``train_epoch``); this module keeps the loop over epochs in
Python so that history, validation, logging and the divergence check see every epoch.
"""

import sys
import time

import numpy as np

from . import losses


class TrainingDivergedError(FloatingPointError, ValueError):
    """The loss or the weights became NaN or infinite; the model keeps its last finite weights."""


class History:
    """Keras-style record of a ``fit``: ``history.history["loss"]`` has one value per epoch."""

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []
        self.seconds = 0.0

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

    def update(self, epoch: int, metrics: dict, flat: np.ndarray) -> bool:
        """Record one epoch; True when training should stop."""
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

    def finish(self, flat: np.ndarray) -> None:
        """Put the best epoch's weights back (with restore_best_weights)."""
        if self._weights is not None and self.best_epoch is not None:
            np.copyto(flat, self._weights)


MONITORS = {"loss": 1, "accuracy": 1, "val_loss": 1, "val_accuracy": 1}


def _log(epoch: int, epochs: int, metrics: dict, seconds: float) -> None:
    parts = " - ".join(f"{k}: {v:.6g}" for k, v in metrics.items())
    print(f"epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {parts}", file=sys.stdout, flush=True)


def run(model, kernels, X, Y, loss, optimizer, epochs, batch_size, shuffle, rng, validation,
        log_every, stopping):
    """Train ``model`` in place for ``epochs`` epochs (arguments already checked)."""
    history = model.history
    first = len(history.epoch)  # a resumed fit goes on counting
    flat, net = model._flat, model._net()
    n = X.shape[0]
    opt = optimizer.bind(flat)
    classify = loss in losses.CLASSIFICATION
    elements = n if loss == losses.CCE else Y.size
    # What an epoch changes, and a copy of it to go back to if the epoch diverges. Plain SGD
    # overwrites its velocity every step, so only the weights need keeping then.
    state = [flat, opt[4]] + ([opt[2], opt[3]] if optimizer.remembers else [])
    saved = [array.copy() for array in state]
    if stopping is not None:
        stopping.start(flat)
    start = time.perf_counter()
    inputs = kernels.prepare_inputs(X)
    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for array, copy in zip(state, saved):
            np.copyto(copy, array)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked below
            value, correct = kernels.train_epoch(flat, net, loss, inputs, Y, order, batch_size,
                                                 opt)
        if not (np.isfinite(value) and np.isfinite(flat).all()):
            for array, copy in zip(state, saved):
                np.copyto(array, copy)
            what = (f"the loss became {value}" if not np.isfinite(value) else
                    f"the weights became NaN or infinite (the loss was still {value:.6g})")
            raise TrainingDivergedError(
                f"training diverged at epoch {epoch + 1} of {epochs}: {what} (try a smaller "
                f"lr); the model keeps the weights from before that epoch")
        metrics = {"loss": value}
        if classify:
            metrics["accuracy"] = correct / elements
        if validation is not None:
            for key, val in model._evaluate_checked(kernels, *validation, loss).items():
                metrics["val_" + key] = val
        history.append(first + epoch, metrics)
        if log_every and ((epoch + 1) % log_every == 0 or epoch in (0, epochs - 1)):
            _log(epoch, epochs, metrics, time.perf_counter() - start)
        if stopping is not None and stopping.update(first + epoch, metrics, flat):
            if log_every:
                print(f"early stop at epoch {epoch + 1}: no better {stopping._key} for "
                      f"{stopping.patience} epochs", flush=True)
            break
    if stopping is not None:
        stopping.finish(flat)
    history.seconds += time.perf_counter() - start
    return history
