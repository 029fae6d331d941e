"""Tiered compilation: the kernel sets, the safe shared cache, compiling ahead and in the
background, and a fit that switches to numba once its kernels are cached.

Every process here has a cache folder of its own (``NUMBA_CACHE_DIR``), and every background
compile a test starts is waited for: none outlives its test.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import compiling

pytestmark = pytest.mark.skipif("numba" not in fastnn.available_backends(),
                                reason="numba is not installed")
ROOT = Path(__file__).resolve().parents[1]
SET = "float64-dense"

# A per-sample fit of the planar net, its weights and what ran it; then, in the same process,
# every compiled entry point once: how many of them and of their callees Numba compiled here.
FIT = """
import json, sys, numpy as np, fastnn
from numba.core.registry import CPUDispatcher
from fastnn.backends import _numba_kernels
epochs, backend = int(sys.argv[1]), sys.argv[2]
X, y = fastnn.datasets.make_planar(400, seed=1)
model = fastnn.Sequential([fastnn.Dense(4, activation="tanh"),
                           fastnn.Dense(1, activation="sigmoid")], input_dim=2, seed=1)
history = model.fit(X, y, loss="bce", optimizer=fastnn.SGD(0.1), epochs=epochs, batch_size=1,
                    backend=backend)
params = {k: v for k, v in history.params.items() if k in ("backend", "switch", "why")}
if sys.argv[3:] == ["all"]:
    model.evaluate(X, y, backend="numba")
    model.predict(X, backend="numba")
    model.gradients(X, y, backend="numba")
compiled = sum(len(f.stats.cache_misses) for f in vars(_numba_kernels).values()
               if isinstance(f, CPUDispatcher))
print(json.dumps({"weights": [float(v) for w in model.get_weights() for v in w.ravel()],
                  "loss": history.history["loss"], "params": params, "compiled": compiled}))
"""


def _env(cache: Path, mode: str) -> dict:
    return dict(os.environ, NUMBA_CACHE_DIR=str(cache), FASTNN_COMPILE=mode)


def _start(cache: Path, mode: str, epochs: int, backend: str = "auto", *extra):
    return subprocess.Popen([sys.executable, "-c", FIT, str(epochs), backend, *extra],
                            env=_env(cache, mode), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _result(process, timeout=600) -> tuple:
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1]), stderr


def _run(cache: Path, mode: str, epochs: int, backend: str = "auto", *extra) -> tuple:
    return _result(_start(cache, mode, epochs, backend, *extra))


def _folder(cache: Path) -> Path:
    """The kernels' folder inside the cache folder ``cache``."""
    return cache / compiling._subfolder()


def _markers(cache: Path) -> list:
    return sorted(path.name for path in _folder(cache).glob("fastnn-ready-*"))


def _wait_for_background(cache: Path, timeout: float = 300.0) -> None:
    """Until no process holds the compile lock of ``cache`` (a background compile ended)."""
    lock = _folder(cache) / "fastnn-compile.lock"
    end = time.monotonic() + timeout
    time.sleep(0.5)  # (time for a process just started to take the lock)
    while time.monotonic() < end:
        if not lock.exists():
            return
        with compiling.file_lock(lock, blocking=False) as taken:
            if taken:
                return
        time.sleep(0.2)
    raise AssertionError(f"a background compile into {cache} still runs after {timeout} s")


@pytest.fixture(scope="module")
def raced(tmp_path_factory):
    """Three processes racing to compile the set into one empty cache folder (every one
    compiles: a named backend in the foreground), then the folder."""
    cache = tmp_path_factory.mktemp("raced")
    processes = [_start(cache, "foreground", 1, "numba", "all") for _ in range(3)]
    results = [_result(process) for process in processes]
    return cache, results


def test_racing_processes_leave_a_complete_cache(raced):
    """Three processes compile one set into one empty folder at once; a fourth then loads
    every kernel with no compile at all and computes the same numbers (the index updates
    take a lock: no entry lost, none paired with another's data)."""
    cache, results = raced
    assert all(result["params"]["backend"] == "numba" for result, _ in results)
    assert all("fastnn: compiling the numba kernels for float64-dense X" in stderr
               for _, stderr in results)
    assert _markers(cache) == [f"fastnn-ready-{SET}-{compiling._stamp()}"]
    fourth, stderr = _run(cache, "foreground", 1, "numba", "all")
    assert fourth["compiled"] == 0 and "compiling" not in stderr
    for result, _ in results:
        assert result["weights"] == fourth["weights"]


def test_a_fit_switches_to_numba_once_its_kernels_are_cached(raced, tmp_path):
    """A long per-sample fit starts on numpy while the kernels compile in the background (here
    they load from the cache: only the set's marker is missing), switches to numba between
    epochs, and ends with the weights of a fit on numba alone."""
    cache = tmp_path / "cache"
    shutil.copytree(_folder(raced[0]), _folder(cache))
    for marker in _folder(cache).glob("fastnn-ready-*"):
        marker.unlink()
    switched, _ = _run(cache, "background", 300)
    _wait_for_background(cache)
    epoch, row = switched["params"]["switch"]
    assert 0 < epoch < 300 and row == "compiled epochs"
    assert switched["params"]["backend"] == "numba"
    assert "compile in the background" in switched["params"]["why"]
    numba, _ = _run(cache, "background", 300, "numba")
    np.testing.assert_allclose(switched["weights"], numba["weights"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(switched["loss"], numba["loss"], rtol=1e-9)


def test_two_processes_on_an_empty_cache_both_finish_and_leave_it_complete(tmp_path):
    """Started together on an empty cache, with background compiles allowed: both fits run on
    numpy at once, one background compile fills the cache (the other finds it compiling),
    and it ends by itself; the next process finds every kernel cached."""
    cache = tmp_path / "cache"
    processes = [_start(cache, "background", 200) for _ in range(2)]
    for process in processes:
        result, stderr = _result(process)
        assert result["params"]["backend"] == "numpy"
        assert stderr == ""  # (a background compile is silent)
    _wait_for_background(cache)
    assert _markers(cache) == [f"fastnn-ready-{SET}-{compiling._stamp()}"]
    after, _ = _run(cache, "background", 200)
    assert after["params"]["backend"] == "numba" and after["compiled"] == 0


@pytest.mark.parametrize("where", ["off", "unwritable"])
def test_nothing_compiles_where_it_may_not(tmp_path, where):
    """FASTNN_COMPILE=off, or a cache folder that cannot be written: the fit runs on numpy,
    no background compile starts, nothing is written."""
    cache = tmp_path / "cache" if where == "off" else Path("/proc/fastnn-not-here")
    result, stderr = _run(cache, "off" if where == "off" else "background", 200)
    assert result["params"]["backend"] == "numpy"
    assert "compile in the background" not in result["params"]["why"]
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.nb*"))
    assert "Traceback" not in stderr


def test_a_named_numba_backend_with_compiling_off_is_an_error(tmp_path):
    process = _start(tmp_path / "cache", "off", 1, "numba")
    _, stderr = process.communicate(timeout=600)
    assert process.returncode != 0
    assert "FASTNN_COMPILE=off forbids compiling them (run python -m fastnn compile" in stderr


def test_compile_ahead_reports_each_kernel_and_leaves_the_set_cached(raced, tmp_path):
    """``python -m fastnn compile``: a line per kernel (here loaded: the cache is the raced
    one), then the set is cached."""
    cache = tmp_path / "cache"
    shutil.copytree(_folder(raced[0]), _folder(cache))
    done = subprocess.run([sys.executable, "-m", "fastnn", "compile", "--dtype", "float64",
                           "--kind", "dense"], env=_env(cache, "background"),
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"fastnn compile: into {_folder(cache)}"
    for entry in ("train_epochs", "evaluate", "forward", "loss_and_gradients"):
        assert any(line.startswith(f"  {SET}: {entry} loaded in ") for line in lines), lines
    assert f"{SET}: cached" in lines
    bad = subprocess.run([sys.executable, "-m", "fastnn", "compile", "--dtype", "float16"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and "invalid choice: 'float16'" in bad.stderr


def test_the_cache_folder_and_the_modes(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert compiling.cache_folder() == tmp_path / compiling._subfolder()
    assert compiling.writable()
    assert compiling.state("float32-sparse") in ("missing", "loaded")
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/proc/fastnn-not-here")
    assert compiling.cache_folder() is None and not compiling.writable()
    for value, expected in (("", "background"), ("Foreground", "foreground"), ("off", "off")):
        monkeypatch.setenv("FASTNN_COMPILE", value)
        assert compiling.mode() == expected
    assert compiling.kernel_set(np.dtype("float32"), True) == "float32-sparse"
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # a process that has not started
    assert compiling.load_seconds() == compiling.LOAD_SECONDS + compiling.NUMBA_START_SECONDS
    monkeypatch.setitem(sys.modules, "numba", object())  # one where Numba runs already
    assert compiling.load_seconds() == compiling.LOAD_SECONDS
