"""Sequential: building, weights, dtypes, initializers, history, the auto backend."""

import numpy as np
import pytest
from helpers import small_model

import fastnn


def test_available_backends():
    available = fastnn.available_backends()
    assert available[:2] == ["loop", "numpy"]
    problem = fastnn.plans.Problem((4, 3, 1), 10, 10, 0, 8)
    assert fastnn.plans.choose(problem).backend == available[-1]  # what "auto" stands for


@pytest.mark.parametrize("init", ["zeros", "ones", "normal", "small", "lecun", "xavier", "he",
                                  "glorot_uniform"])
def test_initializers_are_seeded_and_scaled(init):
    a = small_model((300, 200, 1), ("relu", "sigmoid"), init=init, seed=3)
    b = small_model((300, 200, 1), ("relu", "sigmoid"), init=init, seed=3)
    W = a.get_weights()[0]
    np.testing.assert_array_equal(W, b.get_weights()[0])
    assert not a.get_weights()[1].any()  # biases start at zero
    expected_std = {"zeros": 0, "ones": 0, "normal": 1, "small": 0.01, "lecun": 300 ** -0.5,
                    "xavier": (2 / 500) ** 0.5, "he": (2 / 300) ** 0.5,
                    "glorot_uniform": (6 / 500) ** 0.5 / 3 ** 0.5}[init]
    assert W.std() == pytest.approx(expected_std, rel=0.02, abs=1e-12)


def test_lecun_seed_one_matches_the_coursera_initialization():
    """np.random.seed(1); W1 = randn(n_out, n_in) / sqrt(n_in), in samples-as-rows layout."""
    net = small_model((6, 4, 1), ("relu", "sigmoid"), init="lecun", seed=1)
    rng = np.random.RandomState(1)
    W1 = rng.randn(4, 6) / np.sqrt(6)
    W2 = rng.randn(1, 4) / np.sqrt(4)
    np.testing.assert_array_equal(net.get_weights()[0], W1.T)
    np.testing.assert_array_equal(net.get_weights()[2], W2.T)


def test_float32_model_returns_float32(backend):
    net = small_model((3, 4, 2), ("tanh", "softmax"), dtype="float32")
    X = np.random.default_rng(0).normal(size=(5, 3))
    assert net.predict(X, backend=backend).dtype == np.float32
    assert all(g.dtype == np.float32 for g in net.gradients(X, [0, 1, 1, 0, 1], loss="cce",
                                                            backend=backend))


def test_set_weights_casts_and_get_weights_copies():
    net = small_model((2, 2, 1), ("sigmoid", "sigmoid"), dtype="float32")
    net.set_weights([np.ones((2, 2)), [0, 0], [[1], [1]], [0]])
    weights = net.get_weights()
    assert weights[0].dtype == np.float32
    weights[0][0, 0] = 5
    assert net.get_weights()[0][0, 0] == 1


def test_lazy_build_from_first_fit():
    net = fastnn.Sequential([fastnn.Dense(3, activation="tanh"), fastnn.Dense(1)], seed=0)
    assert not net.built
    net.fit(np.ones((4, 5)), np.zeros(4), loss="mse", epochs=1, backend="numpy")
    assert net.input_dim == 5 and net.count_params() == 5 * 3 + 3 + 3 + 1


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


def test_summary_and_repr():
    net = small_model((4, 3, 1), ("relu", "sigmoid"))
    text = net.summary()
    assert "total parameters: 19" in text and "dense_1 (sigmoid)" in text
    assert "Dense(3, activation='relu')" in repr(net)


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


def test_numba_works_where_its_disk_cache_cannot_be_written(tmp_path):
    """A cache folder that cannot be created (read-only install): kernels compile in memory."""
    import os
    import subprocess
    import sys

    script = ("import numpy as np, fastnn\n"
              "m = fastnn.Sequential([fastnn.Dense(3, activation='tanh'), fastnn.Dense(1)],\n"
              "                      input_dim=2, seed=0)\n"
              "h = m.fit(np.ones((4, 2)), np.zeros(4), loss='mse', epochs=2, batch_size=1,\n"
              "          backend='numba')\n"
              "print('loss', h.history['loss'][-1])\n")
    env = dict(os.environ, NUMBA_CACHE_DIR="/proc/fastnn-cannot-write-here")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loss ")
    # No folder at all can take the cache (every locator fails): one warning, not one a kernel.
    nowhere = ("from numba.core import caching\n"
               "caching.CacheImpl._locator_classes = []\n")
    result = subprocess.run([sys.executable, "-W", "default", "-c", nowhere + script],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loss ")
    assert result.stderr.count("RuntimeWarning") == 1
    assert "numba disk cache unavailable" in result.stderr
