"""Ctrl-C during fit: KeyboardInterrupt within a second, the model at its last completed epoch.

A child process runs a long fit; the test sends it SIGINT and the child reports how long the
interrupt took, how many epochs its history holds, and whether its weights are those of a fresh
fit of exactly that many epochs (so weights, optimizer state and history agree).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import fastnn

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix",
                                reason="needs POSIX signals")

CHILD = """
import json, sys, time
import numpy as np
import fastnn

backend, dual, optimizer, batch = sys.argv[1], sys.argv[2] == "dual", sys.argv[3], sys.argv[4]
batch, rate = None if batch == "full" else int(batch), float(sys.argv[6])
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 300))
y = (X[:, 0] > 0).astype(int)
if sys.argv[2] == "stream":  # read window by window from a file
    np.save(sys.argv[5], X)
    X = np.load(sys.argv[5], mmap_mode="r")

def model():
    dropped = [fastnn.Dropout(rate)] if rate else []  # on the hidden layer: masks by step
    return fastnn.Sequential([fastnn.Dense(8, activation="relu"), *dropped,
                              fastnn.Dense(1, activation="sigmoid")], input_dim=300, seed=1)

def opt():
    return fastnn.SGD(0.01, momentum=0.9) if optimizer == "sgd" else fastnn.Adam(1e-4)

options = dict(loss="bce", batch_size=batch, backend=backend, dual=dual, seed=3)
model().fit(X, y, optimizer=opt(), epochs=2, **options)  # compiles
net, rule = model(), opt()
print("ready", flush=True)
try:
    net.fit(X, y, optimizer=rule, epochs=10**9, **options)
    print(json.dumps({"error": "the fit ended"}))
    sys.exit()
except KeyboardInterrupt:
    stopped = time.time()
epochs = len(net.history.epoch)
again = model()
again.fit(X, y, optimizer=opt(), epochs=epochs, **options)
same = all(np.array_equal(a, b) for a, b in zip(net.get_weights(), again.get_weights()))
state = all(np.array_equal(a, b) for a, b in
            zip((rule.state1, rule.state2, rule.step), (again.optimizer.state1,
                                                        again.optimizer.state2,
                                                        again.optimizer.step)))
net.fit(X, y, optimizer=rule, epochs=2, **options)  # the model can fit again
print(json.dumps({"stopped": stopped, "epochs": epochs, "same": same, "state": state,
                  "finite": bool(np.isfinite(net.get_weights()[0]).all()),
                  "after": len(net.history.epoch), "plan": net.history.params["plan"]}))
"""

PLANS = [("numba", "primal", "adam", "8", 0.0), ("numba", "dual", "sgd", "full", 0.0),
         ("numba", "primal", "sgd", "1", 0.0), ("numpy", "primal", "adam", "8", 0.0),
         ("numba", "stream", "adam", "8", 0.0), ("numba", "dual", "sgd", "full", 0.3),
         ("numpy", "primal", "adam", "8", 0.3)]


@pytest.mark.parametrize("backend,dual,optimizer,batch,dropout", PLANS)
def test_ctrl_c_stops_a_fit_within_a_second_at_a_completed_epoch(backend, dual, optimizer,
                                                                 batch, dropout, tmp_path):
    if backend not in fastnn.available_backends():
        pytest.skip(f"{backend} is not installed")
    child = subprocess.Popen([sys.executable, "-c", CHILD, backend, dual, optimizer, batch,
                              str(tmp_path / "X.npy"), str(dropout)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, child.kill)  # (a hang ends the child: its reads end too)
    watchdog.start()
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(1.0)
        sent = time.time()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        watchdog.cancel()
        child.kill()
    assert child.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert "error" not in result, result
    assert result["stopped"] - sent < 1.0
    assert result["epochs"] > 0 and result["finite"]
    assert result["same"] and result["state"], result
    assert result["after"] == result["epochs"] + 2
