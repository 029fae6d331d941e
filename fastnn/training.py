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


def _log(epoch: int, epochs: int, metrics: dict, seconds: float) -> None:
    parts = " - ".join(f"{k}: {v:.6g}" for k, v in metrics.items())
    print(f"epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {parts}", file=sys.stdout, flush=True)


def run(model, kernels, X, Y, loss, optimizer, epochs, batch_size, shuffle, rng, validation,
        log_every, history):
    """Train ``model`` in place for ``epochs`` epochs (arguments already checked)."""
    flat, net = model._flat, model._net()
    n = X.shape[0]
    opt = optimizer.bind(flat)
    classify = loss in losses.CLASSIFICATION
    elements = n if loss == losses.CCE else Y.size
    # What an epoch changes, and a copy of it to go back to if the epoch diverges. Plain SGD
    # overwrites its velocity every step, so only the weights need keeping then.
    state = [flat, opt[4]] + ([opt[2], opt[3]] if optimizer.remembers else [])
    saved = [array.copy() for array in state]
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for array, copy in zip(state, saved):
            np.copyto(copy, array)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked below
            value, correct = kernels.train_epoch(flat, net, loss, X, Y, order, batch_size, opt)
        if not (np.isfinite(value) and np.isfinite(flat).all()):
            for array, copy in zip(state, saved):
                np.copyto(array, copy)
            raise TrainingDivergedError(
                f"training diverged at epoch {epoch + 1} of {epochs}: the loss became {value} "
                f"(try a smaller lr); the model keeps the weights from before that epoch")
        metrics = {"loss": value}
        if classify:
            metrics["accuracy"] = correct / elements
        if validation is not None:
            for key, val in model._evaluate_checked(kernels, *validation, loss).items():
                metrics["val_" + key] = val
        history.append(epoch, metrics)
        if log_every and ((epoch + 1) % log_every == 0 or epoch in (0, epochs - 1)):
            _log(epoch, epochs, metrics, time.perf_counter() - start)
    history.seconds += time.perf_counter() - start
    return history
