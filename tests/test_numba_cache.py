"""Numba's disk cache cannot go stale: an edit to a kernel reaches every kernel that calls it.

Numba keys a cached kernel by the source of the file that holds it. fastnn keeps every compiled
kernel in one file (``_numba_kernels.py``), so an edit anywhere in it recompiles them all. Here a
copy of the package is edited between two processes that share its cache.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn

pytestmark = pytest.mark.skipif("numba" not in fastnn.available_backends(),
                                reason="numba is not installed")

SCRIPT = """
import json, numpy as np, fastnn
X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.2]] * 4)
y = np.array([0.3, -0.2, 0.5, 0.1] * 4)
result = {}
for name, batch in (("per_sample", 1), ("full_batch", None)):
    model = fastnn.Sequential([fastnn.Dense(3, activation="tanh"), fastnn.Dense(1)],
                              input_dim=2, seed=0)
    result["evaluate"] = model.evaluate(X, y, loss="mse", backend="numba")["loss"]
    history = model.fit(X, y, loss="mse", optimizer=fastnn.SGD(1e-12), epochs=1, batch_size=batch,
                        backend="numba", shuffle=False)
    result[name] = history.history["loss"][0]
    result[name + "_engine"] = history.params["engine"]
print(json.dumps(result))
"""


def _run(package_parent: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(package_parent)
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, cwd=package_parent, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_edit_to_a_callee_reaches_every_caller(tmp_path):
    source = Path(fastnn.__file__).parent
    shutil.copytree(source, tmp_path / "fastnn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    before = _run(tmp_path)
    assert before["per_sample_engine"] == before["full_batch_engine"] == "compiled"
    assert before["per_sample"] == pytest.approx(before["evaluate"], rel=1e-9)
    kernels = tmp_path / "fastnn" / "backends" / "_numba_kernels.py"
    text = kernels.read_text()
    term = "total += (float(A[r, j]) - float(Y[i, j])) ** 2"  # mse's term in _sample_loss,
    # called by every loss kernel
    assert text.count(term) == 1
    kernels.write_text(text.replace(term, "total += 2.0 * (float(A[r, j]) - float(Y[i, j])) ** 2"))
    after = _run(tmp_path)  # the same cache folder (the copy's __pycache__), now stale
    for key in ("evaluate", "per_sample", "full_batch"):
        assert after[key] == pytest.approx(2 * before[key], rel=1e-12), key


def test_a_damaged_cache_is_dropped_and_recompiled(tmp_path):
    """A killed process can leave truncated cache files: the next run warns once, recompiles,
    and gets the same numbers; the run after it is silent."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def run():
        done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                              env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr

    expected, _ = run()
    files = [path for path in (tmp_path / "cache").rglob("*") if path.suffix in (".nbi", ".nbc")]
    assert files
    for path in files:  # truncated, as a killed writer leaves them
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    got, stderr = run()
    assert got == expected
    assert stderr.count("was damaged") == 1 and "Traceback" not in stderr
    again, stderr = run()
    assert again == expected and "damaged" not in stderr
