"""Callbacks: Keras' protocol around a fit's epochs, and the built-in ones."""

import csv

import numpy as np
import pytest
from helpers import count_train_calls, small_model

import fastnn
from fastnn import callbacks, training


class Recording(callbacks.Callback):
    """Every call, in order, with a copy of the model's weights at each epoch's end."""

    def __init__(self, stop_after=None):
        self.events, self.weights, self.stop_after = [], [], stop_after

    def set_model(self, model):
        super().set_model(model)
        self.events.append(("set_model",))

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))
        self.weights.append(self.model.get_weights())
        if self.stop_after is not None and epoch + 1 >= self.stop_after:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.events.append(("train_end", dict(logs)))


def _data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - X[:, 1] > 0).astype(int)


def _same_weights(a, b, rtol=1e-12):
    for u, v in zip(a, b):
        np.testing.assert_allclose(v, u, rtol=rtol, atol=1e-14)


def test_the_protocol_in_order_with_each_epochs_logs(backend):
    X, y = _data()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=1)
    recording = Recording()
    history = net.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.2), epochs=3, batch_size=10,
                      seed=0, validation_data=(X[:8], y[:8]), callbacks=[recording],
                      backend=backend)
    names = [event[:2] if event[0] == "epoch_begin" else event[0] for event in recording.events]
    assert names == ["set_model", "train_begin", ("epoch_begin", 0), "epoch_end",
                     ("epoch_begin", 1), "epoch_end", ("epoch_begin", 2), "epoch_end",
                     "train_end"]
    ends = [event for event in recording.events if event[0] == "epoch_end"]
    for epoch, (_, number, logs) in enumerate(ends):
        assert number == epoch and logs["lr"] == 0.2
        assert {key: logs[key] for key in history.history} == \
            {key: values[epoch] for key, values in history.history.items()}
    assert recording.events[-1][1] == ends[-1][2]
    assert recording.model is net


def test_epochs_are_counted_over_the_models_fits():
    X, y = _data()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"))
    net.fit(X, y, loss="bce", epochs=2)
    recording = Recording()
    net.fit(X, y, epochs=2, callbacks=[recording])
    assert [e[1] for e in recording.events if e[0] == "epoch_end"] == [2, 3]


@pytest.mark.parametrize("dual", [False, True])
def test_each_epochs_end_sees_that_epochs_weights(backend, dual):
    """The model holds the weights of the epoch just ended (the dual form writes them back),
    the compiled engine called back at every epoch."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 40)), np.array([0, 1, 1, 0, 1, 0])
    recording = Recording()
    net = small_model((40, 5, 1), ("relu", "sigmoid"), seed=2)
    net.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.05, momentum=0.9), epochs=4,
            callbacks=[recording], backend=backend, dual=dual)
    for epochs, seen in enumerate(recording.weights, start=1):
        alone = small_model((40, 5, 1), ("relu", "sigmoid"), seed=2)
        alone.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.05, momentum=0.9), epochs=epochs,
                  backend=backend, dual=False)
        _same_weights(alone.get_weights(), seen, rtol=1e-10)


def test_stop_training_ends_the_fit_after_that_epoch(backend):
    X, y = _data()
    fit = dict(loss="bce", batch_size=8, seed=4, backend=backend)
    net = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=1)
    recording = Recording(stop_after=3)
    history = net.fit(X, y, epochs=50, optimizer=fastnn.Adam(0.01), callbacks=[recording],
                      **fit)
    assert len(history.epoch) == 3 and recording.events[-1][0] == "train_end"
    three = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=1)
    three.fit(X, y, epochs=3, optimizer=fastnn.Adam(0.01), **fit)
    _same_weights(three.get_weights(), net.get_weights())
    net.fit(X, y, epochs=2, batch_size=8, callbacks=[Recording()])  # (a new fit starts afresh)
    assert len(net.history.epoch) == 5 and not net.stop_training


def test_callbacks_run_the_compiled_engine_one_epoch_a_call(monkeypatch):
    calls = count_train_calls(monkeypatch)
    monkeypatch.setattr(training, "CHUNK_SECONDS", 10.0)
    X, y = _data()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"))
    net.fit(X, y, loss="bce", epochs=30, batch_size=5)
    assert len(calls) < 30
    calls.clear()
    net.fit(X, y, epochs=30, batch_size=5, callbacks=[callbacks.Callback()])
    assert calls == [1] * 30


def test_lbfgs_calls_back_at_each_iteration():
    X, y = _data()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=1)
    recording = Recording(stop_after=4)
    history = net.fit(X, y, loss="bce", optimizer=fastnn.LBFGS(tol=0.0), epochs=20,
                      callbacks=[recording])
    assert len(history.epoch) == 4
    begins = [e[1] for e in recording.events if e[0] == "epoch_begin"]
    assert begins == [0, 1, 2, 3]
    _same_weights(recording.weights[-1], net.get_weights())


def test_model_checkpoint_saves_each_epoch_by_name(tmp_path):
    X, y = _data()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=1)
    recording = Recording()
    net.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.3), epochs=3, validation_data=(X, y),
            callbacks=[recording, callbacks.ModelCheckpoint(
                tmp_path / "net-{epoch:02d}-{val_loss:.4f}.h5")])
    files = sorted(path.name for path in tmp_path.iterdir())
    losses = net.history.history["val_loss"]
    assert files == [f"net-{e + 1:02d}-{losses[e]:.4f}.h5" for e in range(3)]
    for epoch, name in enumerate(files):
        _same_weights(recording.weights[epoch], fastnn.load_model(tmp_path / name).get_weights(),
                      rtol=0)
    net.fit(X, y, epochs=1, callbacks=[callbacks.ModelCheckpoint(tmp_path / "last.h5")])
    _same_weights(net.get_weights(), fastnn.load_model(tmp_path / "last.h5").get_weights(), 0)


def test_model_checkpoint_keeps_the_best_only(tmp_path):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(30, 6)), rng.integers(0, 2, 30)
    X_val, y_val = rng.normal(size=(30, 6)), rng.integers(0, 2, 30)  # unrelated: it overfits
    net = small_model((6, 32, 1), ("relu", "sigmoid"), seed=1)
    path = tmp_path / "best.h5"
    history = net.fit(X, y, loss="bce", optimizer=fastnn.Adam(0.05), epochs=60,
                      validation_data=(X_val, y_val),
                      callbacks=[callbacks.ModelCheckpoint(path, save_best_only=True)])
    val = history.history["val_loss"]
    assert int(np.argmin(val)) < 59  # (the best is not the last)
    best = fastnn.load_model(path)
    assert best.evaluate(X_val, y_val)["loss"] == pytest.approx(min(val), rel=1e-12)
    assert [p.name for p in tmp_path.iterdir()] == ["best.h5"]  # (no temporary left behind)
    accuracy = callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True)
    assert accuracy.sign == -1.0  # (higher is better)


def _reduced_rates(values, lr, factor, patience, min_lr, min_delta, cooldown):
    """Keras' ReduceLROnPlateau (mode "min"), written apart: the rate each epoch ran at."""
    rates, best, wait, cooling = [], np.inf, 0, 0
    for value in values:
        rates.append(lr)
        if cooling > 0:
            cooling -= 1
            wait = 0
        if value < best - min_delta:
            best, wait = value, 0
        elif cooling <= 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr, wait, cooling = max(lr * factor, min_lr), 0, cooldown
    return rates


def test_reduce_lr_on_plateau_cuts_the_rate_as_keras_does():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(30, 6)), rng.integers(0, 2, 30)
    X_val, y_val = rng.normal(size=(30, 6)), rng.integers(0, 2, 30)
    net = small_model((6, 32, 1), ("relu", "sigmoid"), seed=1)
    reduce = callbacks.ReduceLROnPlateau(factor=0.5, patience=3, min_lr=0.01, cooldown=1)
    recording = Recording()
    net.fit(X, y, loss="bce", optimizer=fastnn.Adam(0.08), epochs=60,
            validation_data=(X_val, y_val), callbacks=[recording, reduce])
    logs = [event[2] for event in recording.events if event[0] == "epoch_end"]
    rates = [row["lr"] for row in logs]
    expected = _reduced_rates([row["val_loss"] for row in logs], 0.08, 0.5, 3, 0.01, 1e-4, 1)
    assert rates == pytest.approx(expected, rel=1e-15)
    assert min(rates) == 0.01 and net.optimizer.lr == 0.01


def test_learning_rate_scheduler_sets_each_epochs_rate(backend):
    """Full-batch SGD at rates r0, r1, r2 == three fits of one epoch at those rates."""
    X, y = _data()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=1)
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: 0.4 / (1 + epoch) ** 2)
    recording = Recording()
    net.fit(X, y, loss="bce", optimizer=fastnn.SGD(1.0), epochs=3, backend=backend,
            callbacks=[schedule, recording])
    rates = [e[2]["lr"] for e in recording.events if e[0] == "epoch_end"]
    assert rates == [0.4, 0.1, 0.4 / 9]
    apart = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=1)
    for rate in rates:
        apart.fit(X, y, loss="bce", optimizer=fastnn.SGD(rate), epochs=1, backend=backend)
    _same_weights(apart.get_weights(), net.get_weights())


def test_csv_logger_writes_a_row_per_epoch(tmp_path):
    X, y = _data()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"))
    path = tmp_path / "log.csv"
    net.fit(X, y, loss="bce", epochs=3, callbacks=[callbacks.CSVLogger(path)])
    net.fit(X, y, epochs=2, callbacks=[callbacks.CSVLogger(path, append=True)])
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "lr"]
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2, 3, 4]
    assert [float(row["loss"]) for row in rows] == net.history.history["loss"]


def test_early_stopping_among_the_callbacks_is_the_fits_early_stopping():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(30, 6)), (rng.normal(size=30) > 0).astype(int)
    X_val, y_val = rng.normal(size=(30, 6)), rng.integers(0, 2, 30)
    histories = []
    for how in ("argument", "callback"):
        net = small_model((6, 32, 1), ("relu", "sigmoid"), seed=1)
        stopper = callbacks.EarlyStopping(patience=4)
        fit = dict(loss="bce", optimizer=fastnn.Adam(0.05), epochs=300,
                   validation_data=(X_val, y_val))
        if how == "argument":
            net.fit(X, y, early_stopping=stopper, **fit)
        else:
            net.fit(X, y, callbacks=[stopper, Recording()], **fit)
        histories.append((net.history.history, net.get_weights(), stopper.stopped_epoch))
    assert histories[0][0] == histories[1][0] and histories[0][2] == histories[1][2] < 299
    _same_weights(histories[0][1], histories[1][1], rtol=0)


def test_bad_callbacks_are_named_before_any_work():
    X, y = _data()
    net = small_model((3, 4, 1), ("tanh", "sigmoid"))
    with pytest.raises(TypeError, match="callbacks: expected a list"):
        net.fit(X, y, loss="bce", callbacks=Recording())
    with pytest.raises(TypeError, match=r"callbacks\[1\]: expected a fastnn.callbacks.Callback, "
                                        r"got builtin_function_or_method"):
        net.fit(X, y, loss="bce", callbacks=[Recording(), print])
    with pytest.raises(ValueError, match="one early stopping per fit"):
        net.fit(X, y, loss="bce", early_stopping=3, callbacks=[fastnn.EarlyStopping()])
    assert net.history.epoch == []
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: monitor 'val_loss' is not among "
                                         r"this fit's metrics \['loss', 'accuracy', 'lr'\]"):
        net.fit(X, y, loss="bce", epochs=2, callbacks=[callbacks.ReduceLROnPlateau()])
    with pytest.raises(ValueError, match="ModelCheckpoint: monitor 'val_accuracy' is not"):
        net.fit(X, y, loss="mse", validation_data=(X, y), callbacks=[
            callbacks.ModelCheckpoint("x.h5", monitor="val_accuracy", save_best_only=True)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau: sets the learning rate, which "
                                         "L-BFGS has none of"):
        net.fit(X, y, loss="bce", optimizer="lbfgs", validation_data=(X, y),
                callbacks=[callbacks.ReduceLROnPlateau()])
    with pytest.raises(ValueError, match="factor: must be < 1"):
        callbacks.ReduceLROnPlateau(factor=2.0)
    with pytest.raises(ValueError, match="mode: unknown name 'up'"):
        callbacks.ModelCheckpoint("x.h5", mode="up")
    with pytest.raises(TypeError, match="schedule: expected a function"):
        callbacks.LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match=r"schedule\(epoch, lr\): must be a finite number > 0"):
        net.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.1), epochs=1,
                callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: -lr)])
    assert net.history.epoch == []


def test_file_callbacks_name_a_missing_folder_before_the_fit(tmp_path):
    missing = tmp_path / "absent"
    for make in (lambda: callbacks.ModelCheckpoint(missing / "m.h5"),
                 lambda: callbacks.CSVLogger(missing / "l.csv")):
        with pytest.raises(FileNotFoundError, match="the folder .*absent does not exist"):
            make()
    callbacks.ModelCheckpoint(tmp_path / "{epoch}" / "m.h5")  # (a folder from the logs: later)
    with pytest.raises(TypeError, match="save_best_only: expected True or False"):
        callbacks.ModelCheckpoint(tmp_path / "m.h5", save_best_only="yes")
