"""Time as users meet it: fresh processes, an empty or a warm Numba cache, the first fits.

    python benchmarks/startup.py                 # every case, 3 processes each, a table
    python benchmarks/startup.py --runs 5 main digits

Cases (each process imports, fits, prints its times; the figures are medians over processes):

- ``main``: the cat script (``examples/train_cat_classifier.py --quiet``), whole-process wall
  time, on an empty cache, a warm cache, and with ``--backend numpy``;
- ``digits``, ``cancer``, ``wide``: scikit-learn's ``MLPClassifier`` against fastnn's, the same
  parameters, fit time only and test accuracy: digits (1347 x 64, ``(100,)``, defaults), breast
  cancer (426 x 30, ``(50, 50)``), and 15,000 x 100 with 5 classes (``(256, 128)``, batches of
  64, 30 epochs); fastnn on an empty cache, a warm cache and ``backend="numpy"``;
- ``long``: 784-128-10 on 20,000 samples, batches of 64, Adam, 40 epochs: numpy alone, numba
  compiled first (``FASTNN_COMPILE=foreground``, ``backend="numba"``) and ``auto`` on an empty
  cache (tiered: numpy while the kernels compile in the background);
- ``compile``: compiling the main plan's kernel set (float64, dense X) in a fresh process, and
  loading it from the cache (Numba's start included): ``fastnn.compiling``'s
  ``COMPILE_SECONDS`` and ``load_seconds()``.

An "empty cache" is a new folder (``NUMBA_CACHE_DIR``) per process; a background compile it
starts is waited for before the next process starts.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ESTIMATOR = """
import json, sys, time, warnings
import numpy as np
case, which, backend = sys.argv[1:4]
from sklearn.model_selection import train_test_split
if case == "digits":
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    settings = {"hidden_layer_sizes": (100,)}
elif case == "cancer":
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    settings = {"hidden_layer_sizes": (50, 50)}
else:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 100))
    y = np.argmax(X @ rng.normal(size=(100, 5)) + 0.5 * rng.normal(size=(20000, 5)), axis=1)
    settings = {"hidden_layer_sizes": (256, 128), "batch_size": 64, "max_iter": 30}
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
if which == "fastnn":
    from fastnn.estimators import MLPClassifier
    settings["backend"] = backend
else:
    from sklearn.neural_network import MLPClassifier
model = MLPClassifier(random_state=0, **settings)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(X_train, y_train)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "accuracy": model.score(X_test, y_test),
                  "epochs": model.n_iter_,
                  "backend": getattr(getattr(model, "model_", None), "history", None)
                  and model.model_.history.params.get("backend")}))
"""

LONG = """
import json, sys, time
import numpy as np
import fastnn
backend = sys.argv[1]
rng = np.random.default_rng(0)
X = rng.random((20000, 784))
y = rng.integers(0, 10, 20000)
model = fastnn.Sequential([fastnn.Dense(128, activation="relu"),
                           fastnn.Dense(10, activation="softmax")], input_dim=784, seed=0)
start = time.perf_counter()
history = model.fit(X, y, loss="cce", optimizer=fastnn.Adam(), epochs=40, batch_size=64,
                    backend=backend, dual=False)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "switch": history.params.get("switch")}))
"""

COMPILE = """
import json, time
import fastnn
start = time.perf_counter()
from fastnn import backends
seconds = backends.get("numba").compile_kernels("float64-dense")
print(json.dumps({"seconds": time.perf_counter() - start, "kernels": seconds}))
"""


USED: list = []  # the cache folders of the runs not waited for yet


def wait_for_used() -> None:
    """Until no background compile of a run that did not wait is still running."""
    while USED:
        wait_for_compiles(USED.pop())


def wait_for_compiles(cache: str, timeout: float = 600.0) -> None:
    """Until no process compiles into the cache folder ``cache`` (its compile lock is free)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    code = ("import time, sys\nfrom fastnn import compiling\nend = time.time() + float("
            "sys.argv[1])\ntime.sleep(0.5)\nwhile compiling.compiling_now() and time.time() < "
            "end:\n    time.sleep(0.2)\n")
    subprocess.run([sys.executable, "-c", code, str(timeout)], env=env, check=True, cwd=ROOT)


def run(args: list, cache: str | None, env: dict | None = None, wait: bool = True) -> dict:
    """A fresh process: ``python args`` with the Numba cache ``cache`` (a new empty folder
    where None); its JSON line, or ``{"seconds": wall}``, and ``wall``. ``wait``: until any
    background compile it started has ended (else the caller waits: ``wait_for_compiles``)."""
    folder = cache or tempfile.mkdtemp(prefix="fastnn-cache-")
    environment = {key: value for key, value in os.environ.items()
                   if key != "FASTNN_COMPILE"}  # (a user's default, unless a row sets it)
    environment.update(NUMBA_CACHE_DIR=folder, **(env or {}))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=environment, capture_output=True,
                          text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"startup: {args} failed:\n{done.stderr[-3000:]}")
    if wait:
        wait_for_compiles(folder)
    else:
        USED.append(folder)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"seconds": wall}
    result["wall"] = wall
    return result


def warm_cache() -> str:
    """A cache folder with the main plan's set compiled (and float64 sparse)."""
    folder = tempfile.mkdtemp(prefix="fastnn-warm-")
    env = dict(os.environ, NUMBA_CACHE_DIR=folder)
    subprocess.run([sys.executable, "-m", "fastnn", "compile", "--dtype", "float64"], env=env,
                   check=True, capture_output=True, cwd=ROOT)
    return folder


def cases(warm: str) -> dict:
    """``{case: {label: (args, cache, env, key)}}``: cache None is a new empty folder."""
    main = ["examples/train_cat_classifier.py", "--quiet"]
    table = {"main": {"empty cache": (main, None, None, "wall"),
                      "warm cache": (main, warm, None, "wall"),
                      "numpy": (main + ["--backend", "numpy"], warm, None, "wall")}}
    for case in ("digits", "cancer", "wide"):
        table[case] = {
            "scikit-learn": (["-c", ESTIMATOR, case, "sklearn", "auto"], warm, None, "seconds"),
            "empty cache": (["-c", ESTIMATOR, case, "fastnn", "auto"], None, None, "seconds"),
            "warm cache": (["-c", ESTIMATOR, case, "fastnn", "auto"], warm, None, "seconds"),
            "numpy": (["-c", ESTIMATOR, case, "fastnn", "numpy"], warm, None, "seconds")}
    table["long"] = {
        "numpy": (["-c", LONG, "numpy"], None, None, "seconds"),
        "compile, then numba": (["-c", LONG, "numba"], None, {"FASTNN_COMPILE": "foreground"},
                                "seconds"),
        "auto, empty cache": (["-c", LONG, "auto"], None, None, "seconds")}
    table["compile"] = {"compile": (["-c", COMPILE], None, None, "seconds"),
                        "load": (["-c", COMPILE], warm, None, "seconds")}
    return table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="main, digits, cancer, wide, long, compile")
    parser.add_argument("--runs", type=int, default=3, help="processes per row")
    args = parser.parse_args(argv)
    warm = warm_cache()
    table = cases(warm)
    for case in args.cases or list(table):
        rows = table[case]
        results = {label: [] for label in rows}
        for _ in range(args.runs):  # (the rows take turns: the machine's drift spreads)
            for label, (command, cache, env, _) in rows.items():
                results[label].append(run(command, cache, env))
        print(f"{case}:")
        for label, (_, _, _, key) in rows.items():
            times = [r[key] for r in results[label]]
            extra = ""
            if "accuracy" in results[label][0]:
                extra = (f", accuracy {results[label][0]['accuracy']:.3f}, "
                         f"{results[label][0]['epochs']} epochs, "
                         f"backend {results[label][0]['backend'] or '-'}")
            if results[label][0].get("switch"):
                extra = f", switched at epoch {results[label][0]['switch'][0]}"
            print(f"  {label:20s} median {statistics.median(times):7.2f} s "
                  f"(min {min(times):.2f}, max {max(times):.2f}){extra}", flush=True)


if __name__ == "__main__":
    main()
