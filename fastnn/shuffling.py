"""The shuffling stream of a model's fits.

Each epoch visits the samples in the previous epoch's order, shuffled by a NumPy RandomState:
scikit-learn's MLP shuffles so, which lets fastnn's estimators, given the same random state,
visit the samples in its order. The stream goes on from fit to fit and is saved with the
model, so fits of 3 and 3 epochs shuffle as one fit of 6; a fit's ``seed`` starts it over.
It also holds the key of dropout's masks (``fastnn.dropout``), fixed where the stream starts.
"""

import hashlib

import numpy as np


class Shuffle:
    """A RandomState, the last epoch's order of the samples, and dropout's key."""

    def __init__(self, seed=None):
        """``seed``: an int (or None, fresh entropy), or a RandomState to draw from (as
        scikit-learn's ``random_state``: the caller's own stream goes on)."""
        self.rng = seed if isinstance(seed, np.random.RandomState) else \
            np.random.RandomState(seed)
        self.order: np.ndarray | None = None
        self.key = key_of(self.rng.get_state())

    def next(self, n: int) -> np.ndarray:
        """The next epoch's order of ``n`` samples: the last one's, shuffled (the samples in
        order where there was none, or it had another length)."""
        if self.order is None or self.order.shape[0] != n:
            self.order = np.arange(n)
        self.order = self.order[self.rng.permutation(n)]
        return self.order

    def get_state(self) -> tuple:
        return (self.rng.get_state(), None if self.order is None else self.order.copy(),
                self.key)

    def set_state(self, state: tuple) -> None:
        """``(RandomState state, order, key)``; key None: derived from that state."""
        self.rng.set_state(state[0])
        self.order = None if state[1] is None else np.asarray(state[1], np.int64)
        self.key = key_of(state[0]) if state[2] is None else int(state[2])


def key_of(state: tuple) -> int:
    """Dropout's key for a stream that starts at the RandomState ``state``: 63 bits of the
    SHA-256 of its key and position (drawing nothing from it: scikit-learn's stream stays as
    it is)."""
    digest = hashlib.sha256(np.asarray(state[1], np.uint32).tobytes()
                            + int(state[2]).to_bytes(4, "little")).digest()
    return int.from_bytes(digest[:8], "little") >> 1
