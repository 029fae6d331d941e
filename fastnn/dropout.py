"""Dropout's masks: a counter-based generator, the same bits in every backend.

Inverted dropout (Keras'): in training each unit of a layer's inputs is kept with probability
1 - rate and scaled by 1 / (1 - rate); inference passes through. Whether a unit is kept depends
only on (key, step, layer, position, unit): the fit's key (``shuffling.Shuffle.key``), the
update's number (the rule's step before it advances), the layer whose inputs are dropped (0:
the network's inputs), the sample's position in its batch and the unit. No state is drawn from,
so every backend computes the same masks (the loops one unit at a time, NumPy on arrays, Numba
compiled from these same functions), a resumed fit draws what one fit would, and the ranks of
a data-parallel fit each compute their share of a batch's masks.

The generator is SplitMix64's (Steele, Lea & Flood 2014; Vigna's constants): ``mix`` is its
output function, a bijection of 64-bit integers whose outputs pass BigCrush for consecutive
inputs; each of key, step, layer and position seeds the next stream, and a unit's uniform is
the stream's (unit + 1)-th output, its top 53 bits over 2^53. Unit u is kept where its uniform
is at least ``rate``. Every value is a NumPy uint64 (scalars or arrays): wrap-around arithmetic.
"""

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / the golden ratio: the streams' increment
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_UNIT = 2.0**-53  # the top 53 bits as a float in [0, 1)


def mix(z):
    """SplitMix64's output function of z (uint64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def sample_stream(key, step, layer, position):
    """The stream of one sample's units (uint64), all four arguments uint64."""
    return mix(mix(mix(mix(key) + step * GAMMA) + layer * GAMMA) + position * GAMMA)


def uniform(stream, unit):
    """Unit ``unit``'s uniform in [0, 1) (float64) of a sample's ``stream`` (both uint64)."""
    return (mix(stream + (unit + _ONE) * GAMMA) >> _S11) * _UNIT


def scale(rate: float, dtype) -> object:
    """1 / (1 - rate) in ``dtype``: the factor of a kept unit."""
    return np.dtype(dtype).type(1.0 / (1.0 - rate))
