"""Sequential: building, weights, dtypes, what "auto" stands for, the summary, its disk cache."""

import numpy as np
from helpers import small_model

import fastnn


def test_available_backends():
    available = fastnn.available_backends()
    assert available[:2] == ["loop", "numpy"]
    problem = fastnn.plans.Problem((4, 3, 1), 10, 10, 0, 8)
    assert fastnn.plans.choose(problem).backend in available  # what "auto" stands for


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


def test_summary_and_repr():
    net = small_model((4, 3, 1), ("relu", "sigmoid"))
    text = net.summary()
    assert "total parameters: 19" in text and "dense_1 (sigmoid)" in text
    assert "Dense(3, activation='relu')" in repr(net)


def test_numba_works_where_its_disk_cache_cannot_be_written(tmp_path):
    """A cache folder that cannot be created (read-only install): kernels compile in memory,
    saying so."""
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
    result = subprocess.run([sys.executable, "-W", "default", "-c", script],
                            capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loss ")
    # One warning, not one a kernel; the compile is announced, and where it cannot be cached.
    assert result.stderr.count("RuntimeWarning") == 1
    assert "no folder for the numba disk cache can be used here" in result.stderr
    assert "fastnn: compiling the numba kernels for float64-dense X" in result.stderr
    assert "not cached: no writable cache folder" in result.stderr
