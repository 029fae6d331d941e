"""The revision comparison: fresh processes, each importing its own revision's fastnn."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import compare  # noqa: E402

ROW = "planar_epoch_per_sample:numpy"  # (no compiling: seconds)


def test_two_revisions_each_time_their_own_fastnn(capsys):
    compare.main(["HEAD", ROW, "--processes", "1", "--runs", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("HEAD (old) vs worktree (new), float64, 1 processes each")
    assert lines[1].startswith(f"{ROW}: old best ") and "new / old: best " in lines[1]
    folder = compare.checkout("HEAD")
    assert (folder / "fastnn" / "__init__.py").is_file() and folder != compare.ROOT
    # the timer refuses to time a fastnn that is not the revision's
    with pytest.raises(SystemExit, match="not the revision"):
        compare.time_row(folder / "benchmarks", ROW, "float64", 1)


def test_bad_arguments_are_named():
    with pytest.raises(SystemExit, match="'no-such-commit' is not a commit"):
        compare.checkout("no-such-commit")
    with pytest.raises(SystemExit):
        compare.main(["HEAD", "cat_step", "--runs", "1"])  # a row without its label
    with pytest.raises(SystemExit):
        compare.main(["HEAD", ROW, "--processes", "0"])
