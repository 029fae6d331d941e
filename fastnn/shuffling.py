"""The shuffling stream of a model's fits.

Each epoch visits the samples in the previous epoch's order, shuffled by a NumPy RandomState:
scikit-learn's MLP shuffles so, which lets fastnn's estimators, given the same random state,
visit the samples in its order. The stream goes on from fit to fit and is saved with the
model, so fits of 3 and 3 epochs shuffle as one fit of 6; a fit's ``seed`` starts it over.
"""

import numpy as np


class Shuffle:
    """A RandomState and the last epoch's order of the samples."""

    def __init__(self, seed=None):
        """``seed``: an int (or None, fresh entropy), or a RandomState to draw from (as
        scikit-learn's ``random_state``: the caller's own stream goes on)."""
        self.rng = seed if isinstance(seed, np.random.RandomState) else \
            np.random.RandomState(seed)
        self.order: np.ndarray | None = None

    def next(self, n: int) -> np.ndarray:
        """The next epoch's order of ``n`` samples: the last one's, shuffled (the samples in
        order where there was none, or it had another length)."""
        if self.order is None or self.order.shape[0] != n:
            self.order = np.arange(n)
        self.order = self.order[self.rng.permutation(n)]
        return self.order

    def get_state(self) -> tuple:
        return self.rng.get_state(), None if self.order is None else self.order.copy()

    def set_state(self, state: tuple) -> None:
        self.rng.set_state(state[0])
        self.order = None if state[1] is None else np.asarray(state[1], np.int64)
