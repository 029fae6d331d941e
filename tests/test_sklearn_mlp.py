"""scikit-learn's own tests of its MLPs, run on fastnn's estimators: the installed
``sklearn/neural_network/tests/test_mlp.py`` with nothing changed but its import line."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sklearn = pytest.importorskip("sklearn")

THEIRS = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
OURS = "from fastnn.estimators import MLPClassifier, MLPRegressor"
# Tests of that file that may fail on fastnn, with the reason (the README lists them too).
MAY_FAIL: dict = {}
# The one fixture the file takes from scikit-learn's conftest.py, as that gives it.
CONFTEST = '''import os

import pytest


@pytest.fixture
def global_random_seed():
    return int(os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", "42"))
'''


def test_scikit_learns_own_mlp_tests_pass_on_fastnns_estimators(tmp_path):
    source = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    text = source.read_text()
    assert text.count(THEIRS) == 1, f"{source} imports its MLPs another way now"
    (tmp_path / "test_mlp.py").write_text(text.replace(THEIRS, OURS))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
         "test_mlp.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    report = result.stdout[-6000:] + result.stderr[-2000:]
    failed = re.findall(r"^(?:FAILED|ERROR) test_mlp\.py::(\w+)", result.stdout, re.M)
    assert not [name for name in failed if name not in MAY_FAIL], report
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 56, report
