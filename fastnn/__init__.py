"""fastnn: dense neural networks from the math up, in loop, NumPy and Numba backends."""

from . import callbacks, datasets
from .backends import available as available_backends
from .gradcheck import check_gradients
from .layers import Dense, Dropout
from .model import Sequential, load_model
from .optimizers import LBFGS, SGD, Adagrad, Adam, AdamW, Nadam, RMSprop
from .training import EarlyStopping, History, TrainingDivergedError
from .version import __version__

__all__ = [
    "Adagrad",
    "Adam",
    "AdamW",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "History",
    "LBFGS",
    "Nadam",
    "RMSprop",
    "SGD",
    "Sequential",
    "TrainingDivergedError",
    "available_backends",
    "callbacks",
    "check_gradients",
    "datasets",
    "load_model",
    "__version__",
]
