"""Data-parallel training over MPI: ``mpiexec -n 2`` against one-process fits."""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import small_model

import fastnn
from fastnn import distributed

HERE = Path(__file__).parent


def mpiexec():
    """The mpiexec beside this Python (the [mpi] extra's MPICH), else on PATH, else None."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def test_two_ranks_train_as_one_process_does():
    """SGD, momentum and Adam; full batch, mini-batches, shuffled; X in memory and in an
    HDF5 file: every rank's weights equal a one-process fit's to 1e-10, and each other's."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install -e '.[mpi]'")
    if mpiexec() is None:
        pytest.skip("no mpiexec: pip install -e '.[mpi]' brings MPICH's")
    done = subprocess.run([mpiexec(), "-n", "2", sys.executable,
                           str(HERE / "mpi" / "check_data_parallel.py")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "ok 24 cases on 2 ranks"


def _faults(mode):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install -e '.[mpi]'")
    if mpiexec() is None:
        pytest.skip("no mpiexec: pip install -e '.[mpi]' brings MPICH's")
    return subprocess.run([mpiexec(), "-n", "2", sys.executable,
                           str(HERE / "mpi" / "check_faults.py"), mode],
                          capture_output=True, text=True, timeout=120)


def test_bad_data_on_one_rank_is_an_error_on_every_rank():
    done = _faults("check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "ok check"


def test_an_error_inside_training_on_one_rank_ends_the_job():
    done = _faults("crash")  # (a hang would be a TimeoutExpired here)
    assert done.returncode != 0
    assert "the fit ended" not in done.stdout
    assert "rank 1 of 2 failed during a data-parallel fit" in done.stderr
    assert "injected fault on rank 1" in done.stderr


def test_ctrl_c_on_one_rank_stops_every_rank_after_the_same_epoch():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install -e '.[mpi]'")
    if mpiexec() is None:
        pytest.skip("no mpiexec: pip install -e '.[mpi]' brings MPICH's")
    job = subprocess.Popen([mpiexec(), "-n", "2", sys.executable,
                            str(HERE / "mpi" / "check_interrupt.py")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, job.kill)  # (a hang ends the job: its reads then end too)
    watchdog.start()
    try:
        pids = {}
        while len(pids) < 2:
            line = job.stdout.readline()
            assert line, job.stderr.read()
            for rank, pid in re.findall(r"pid (\d) (\d+)", line):  # (ranks' lines may mix)
                pids[int(rank)] = int(pid)
        time.sleep(1.0)
        os.kill(pids[1], signal.SIGINT)  # one rank only
        out, err = job.communicate(timeout=60)
    finally:
        watchdog.cancel()
        job.kill()
    assert job.returncode == 0, err
    done = sorted(re.findall(r"done (\d) (\d+) (\S+?)(?=done|\s|$)", out))
    assert [rank for rank, _, _ in done] == ["0", "1"], out + err
    assert done[0][1:] == done[1][1:] and int(done[0][1]) > 0  # same epoch, same weights


class FakeComm:
    """What fit asks of a communicator, for one rank that sees another with other data."""

    def __init__(self, others):
        self.others = others

    def Get_rank(self):  # noqa: N802 (mpi4py's names)
        return 0

    def Get_size(self):  # noqa: N802
        return 2

    def allgather(self, value):  # (the other rank's checks pass: its failure is None)
        return [value, self.others(value) if isinstance(value, tuple) else None]

    Allreduce = Bcast = bcast = None


def test_ranks_that_disagree_and_bad_comms_are_named():
    net = small_model((3, 4, 1), ("tanh", "sigmoid"))
    X, y = np.ones((10, 3)), np.arange(10) % 2
    differ = FakeComm(lambda value: (value[0] + 1, *value[1:]))
    with pytest.raises(ValueError, match="comm: the ranks differ in samples"):
        net.fit(X, y, batch_size=4, comm=differ)
    with pytest.raises(TypeError, match="comm: expected an mpi4py communicator .* without "
                                        "Get_rank"):
        net.fit(X, y, comm=object())
    with pytest.raises(ValueError, match="dual: the dual form does not run data-parallel"):
        net.fit(X, y, optimizer=fastnn.SGD(0.1), dual=True, comm=FakeComm(lambda v: v))
    assert net.history.epoch == []
    distributed.agree(FakeComm(lambda v: v), samples=10)  # the same everywhere: fine
