"""The fixtures: each backend, each dtype; and the cat files' folder for the tests."""

import os
from pathlib import Path

import pytest
from helpers import BACKENDS, DTYPES

# The cat files: $FASTNN_DATA, else the team's data folder beside a checkout (tests only: the
# library itself never looks there).
_TEAM_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if not os.environ.get("FASTNN_DATA") and (_TEAM_DATA / "train_catvnoncat.h5").is_file():
    os.environ["FASTNN_DATA"] = str(_TEAM_DATA)
# Kernels compile where a test needs them, in its process: no background compiles outlive the
# tests (the tests of tiered compilation set their own mode in the processes they start).
os.environ.setdefault("FASTNN_COMPILE", "foreground")


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param
