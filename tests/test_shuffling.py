"""The shuffling stream: each epoch shuffles the last one's order, as scikit-learn's MLP does."""

import numpy as np

from fastnn import shuffling


def test_each_order_is_the_last_one_shuffled():
    stream = shuffling.Shuffle(3)
    first, second = stream.next(6).copy(), stream.next(6).copy()
    rng = np.random.RandomState(3)
    expected = np.arange(6)[rng.permutation(6)]
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(second, expected[rng.permutation(6)])
    assert sorted(second) == list(range(6))


def test_a_random_state_is_drawn_from_and_a_new_length_starts_over():
    rng = np.random.RandomState(5)
    stream = shuffling.Shuffle(rng)
    assert stream.rng is rng
    stream.next(4)
    np.testing.assert_array_equal(stream.next(3), np.random.RandomState(5).permutation(4)
                                  [:0].tolist() + list(np.arange(3)[_after(5, 4, 3)]))


def _after(seed, first, n):
    """The permutation of n drawn after one of ``first`` from RandomState(seed)."""
    rng = np.random.RandomState(seed)
    rng.permutation(first)
    return rng.permutation(n)


def test_the_state_goes_on_where_it_was_saved():
    stream = shuffling.Shuffle(1)
    stream.next(5)
    state = stream.get_state()
    expected = stream.next(5).copy()
    again = shuffling.Shuffle()
    again.set_state(state)
    np.testing.assert_array_equal(again.next(5), expected)
