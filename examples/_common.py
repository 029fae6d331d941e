"""What the example scripts share: the --backend flag."""

import argparse


def parser(description: str) -> argparse.ArgumentParser:
    """An ArgumentParser with --backend {auto,loop,numpy,numba} (default auto)."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--backend", choices=["auto", "loop", "numpy", "numba"], default="auto",
                        help="which backend computes (default: auto = numba if available)")
    return result
