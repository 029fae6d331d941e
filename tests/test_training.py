"""The training loop: history, chunks of epochs, early stopping, logging, divergence."""

import numpy as np
import pytest
from helpers import count_train_calls, small_model

import fastnn
from fastnn import training


def test_history_with_validation_and_accuracy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = small_model((2, 4, 1), ("tanh", "sigmoid"), seed=2)
    history = net.fit(X, y, loss="bce", optimizer=fastnn.SGD(lr=0.5), epochs=30,
                      batch_size=8, seed=0, validation_data=(X[:10], y[:10]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 30 for v in history.history.values())
    assert history.history["accuracy"][-1] > 0.9
    assert history.history["loss"][-1] < history.history["loss"][0]
    final = net.evaluate(X[:10], y[:10])
    assert final["loss"] == pytest.approx(history.history["val_loss"][-1])
    assert net.loss == "bce" and net.optimizer.lr == 0.5


def test_fit_resumes_with_the_same_optimizer_state():
    """Two fits of 3 epochs equal one fit of 6 epochs (Adam's moments and step carry over)."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    one = small_model((3, 4, 1), ("tanh", "linear"), seed=1)
    two = small_model((3, 4, 1), ("tanh", "linear"), seed=1)
    one.fit(X, y, loss="mse", optimizer=fastnn.Adam(0.01), epochs=6, batch_size=4, shuffle=False)
    two.fit(X, y, loss="mse", optimizer=fastnn.Adam(0.01), epochs=3, batch_size=4, shuffle=False)
    two.fit(X, y, epochs=3, batch_size=4, shuffle=False)
    for a, b in zip(one.get_weights(), two.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-12)
    assert two.optimizer.step[0] == 9 * 2


def test_epoch_loss_is_the_full_batch_loss_before_the_update():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    net = small_model((2, 3, 1), ("relu", "linear"), seed=0)
    before = net.evaluate(X, y, loss="sse")["loss"]
    history = net.fit(X, y, loss="sse", optimizer=fastnn.SGD(0.01), epochs=1)
    assert history.history["loss"][0] == pytest.approx(before, rel=1e-12)


def test_verbose_prints_progress(capsys):
    net = small_model((2, 2, 1), ("tanh", "sigmoid"))
    net.fit([[0, 1], [1, 0]], [0, 1], loss="bce", epochs=40, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("epoch 1/40") and lines[-1].startswith("epoch 40/40")
    assert 2 < len(lines) <= 22 and "loss:" in lines[0] and "accuracy:" in lines[0]


def _overfitting_setup():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 6))
    y = (X[:, 0] > 0).astype(int)
    X_val = rng.normal(size=(30, 6))
    y_val = rng.integers(0, 2, 30)  # unrelated labels: validation loss soon rises
    net = small_model((6, 32, 1), ("relu", "sigmoid"), seed=1)
    return net, X, y, X_val, y_val


def test_early_stopping_stops_and_restores_the_best_weights(backend):
    net, X, y, X_val, y_val = _overfitting_setup()
    stopper = fastnn.EarlyStopping(patience=5)
    history = net.fit(X, y, loss="bce", optimizer=fastnn.Adam(0.05), epochs=300,
                      validation_data=(X_val, y_val), early_stopping=stopper, backend=backend)
    val = history.history["val_loss"]
    assert stopper.stopped_epoch is not None and len(val) < 300
    assert stopper.stopped_epoch - stopper.best_epoch == 5
    assert int(np.argmin(val)) == stopper.best_epoch
    restored = net.evaluate(X_val, y_val, backend=backend)["loss"]
    assert restored == pytest.approx(min(val), rel=1e-10)


def test_early_stopping_restores_at_the_last_epoch_too():
    net, X, y, X_val, y_val = _overfitting_setup()
    history = net.fit(X, y, loss="bce", optimizer=fastnn.Adam(0.05), epochs=40,
                      validation_data=(X_val, y_val), early_stopping=1000)
    assert len(history.history["val_loss"]) == 40
    assert net.evaluate(X_val, y_val)["loss"] == pytest.approx(min(history.history["val_loss"]))


def test_early_stopping_arguments_are_checked():
    net, X, y, _, _ = _overfitting_setup()
    with pytest.raises(ValueError, match="monitor: 'val_loss' needs validation_data"):
        net.fit(X, y, loss="bce", early_stopping=fastnn.EarlyStopping(monitor="val_loss"))
    with pytest.raises(ValueError, match="monitor: 'accuracy' needs a classification loss"):
        net.fit(X, y, loss="mse", early_stopping=fastnn.EarlyStopping(monitor="accuracy"))
    with pytest.raises(ValueError, match="monitor: unknown name 'val_f1'"):
        fastnn.EarlyStopping(monitor="val_f1")
    with pytest.raises(ValueError, match="patience: must be > 0"):
        fastnn.EarlyStopping(patience=0)
    assert net.history.epoch == []


def test_history_goes_on_over_fits():
    net, X, y, _, _ = _overfitting_setup()
    net.fit(X, y, loss="bce", epochs=3)
    net.fit(X, y, epochs=2)
    assert net.history.epoch == [0, 1, 2, 3, 4] and len(net.history.history["loss"]) == 5


def test_a_long_fit_runs_in_chunks_of_about_chunk_seconds(monkeypatch):
    """Each chunk is one call of the backend: as many epochs as took CHUNK_SECONDS before."""
    calls = count_train_calls(monkeypatch)
    monkeypatch.setattr(training, "CHUNK_SECONDS", 1e-3)
    X, y = np.random.default_rng(0).normal(size=(50, 3)), np.arange(50) % 2
    net = small_model((3, 4, 1), ("tanh", "sigmoid"))
    net.fit(X, y, epochs=400, batch_size=5)
    assert calls[0] == 1 and sum(calls) == 400 and 2 < len(calls) < 400
    assert len(net.history.epoch) == 400


def test_the_divergence_error_names_the_epoch():
    error = training.diverged(3, 10, float("inf"))
    assert isinstance(error, ValueError) and "diverged at epoch 3 of 10: the loss became inf" \
        in str(error)


def test_validation_split_holds_out_the_last_samples():
    """Keras' validation_split: the last share of the samples is the validation data, exactly
    as if it had been passed as validation_data."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 3)), (rng.random(40) > 0.5).astype(float)
    histories = []
    for options in ({"validation_split": 0.25}, {"validation_data": (X[30:], y[30:])}):
        model = small_model((3, 4, 1), ("tanh", "sigmoid"), seed=2)
        data = (X, y) if "validation_split" in options else (X[:30], y[:30])
        histories.append(model.fit(*data, loss="bce", optimizer=fastnn.SGD(0.1), epochs=3,
                                   batch_size=8, seed=1, backend="numpy", **options).history)
    assert histories[0] == histories[1] and len(histories[0]["val_loss"]) == 3
    model = small_model((3, 4, 1), ("tanh", "sigmoid"))
    with pytest.raises(ValueError, match="validation_split: must be < 1"):
        model.fit(X, y, validation_split=1.0)
    with pytest.raises(ValueError, match="validation_split: 0.99 of 40 samples leaves 0 to"):
        model.fit(X, y, validation_split=0.99)


def test_a_metric_some_fits_log_is_nan_in_the_others(tmp_path):
    """Every metric has one value per epoch, also over fits with and without validation data;
    such a model saves and loads."""
    net, X, y, X_val, y_val = _overfitting_setup()
    net.fit(X, y, loss="bce", epochs=2, validation_data=(X_val, y_val))
    net.fit(X, y, epochs=1)
    net.fit(X, y, epochs=1, validation_data=(X_val, y_val))
    val = net.history.history["val_loss"]
    assert len(val) == 4 and np.isnan(val[2]) and not np.isnan([val[0], val[1], val[3]]).any()
    net.save(tmp_path / "net.h5")
    loaded = fastnn.load_model(tmp_path / "net.h5").history.history
    np.testing.assert_array_equal(loaded["val_loss"], val)
