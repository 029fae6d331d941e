"""What the example scripts share: the --backend flag, the cat data flags, output-path checks."""

import argparse
import os
import sys
from pathlib import Path

import fastnn


def parser(description: str) -> argparse.ArgumentParser:
    """An ArgumentParser with --backend {auto,loop,numpy,numba} (default auto)."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--backend", choices=["auto", "loop", "numpy", "numba"], default="auto",
                        help="which backend computes (default: auto = numba if available)")
    return result


def add_data_flags(cli: argparse.ArgumentParser) -> None:
    """--data DIR and --no-verify, for the scripts that read the cat files."""
    cli.add_argument("--data", metavar="DIR",
                     help="folder holding train_catvnoncat.h5 and test_catvnoncat.h5 (default: "
                          "$FASTNN_DATA, else the download cache; see README)")
    cli.add_argument("--no-verify", action="store_true",
                     help="read cat files whose SHA-256 differs from the known one (warns)")


def load_cat(args, dtype: str = "float64"):
    """``fastnn.datasets.load_cat`` with the --data / --no-verify flags."""
    return fastnn.datasets.load_cat(args.data, dtype=dtype, verify=not args.no_verify)


def run(main) -> None:
    """main(), with bad flags and missing or damaged data as one ``error: ...`` line."""
    try:
        main()
    except (ValueError, TypeError, OSError) as error:
        sys.exit(f"error: {error}")


def check_output(flag: str, path) -> None:
    """A ValueError now, before any work, if ``path`` cannot be written later."""
    if path is None:
        return
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"{flag}: {path} is a folder; give a file name")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{flag}: {folder} is a file, not a folder, so {path} cannot be "
                         f"written")
    if not folder.is_dir():
        raise ValueError(f"{flag}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{flag}: the folder {folder} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag}: {path} exists and is not writable")


def check_matplotlib(flag: str, path) -> None:
    """A ValueError now if ``--plot`` is asked for and matplotlib is missing."""
    if path is None:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ValueError(f"{flag} needs matplotlib: pip install 'fastnn[plot]' (or "
                         f"matplotlib itself)") from error
