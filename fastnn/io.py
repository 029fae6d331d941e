"""Model files in HDF5: architecture, dtype, weights, optimizer state, history, version.

Layout (format version 1)::

    /                attrs: format="fastnn-model", format_version, fastnn_version, dtype, init,
                            seed (-1 for none), loss ("" for none), layers (JSON)
    /weights/W0, b0, W1, b1, ...
    /optimizer       attrs: name, config (JSON); datasets state1, state2, step (absent: none)
    /history/<key>   one dataset per metric; /history/epoch

Writes go to a temporary file in the target's folder, then ``os.replace`` moves it onto the
target: an interrupted save never leaves a half-written file at ``path``.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np

FORMAT = "fastnn-model"
FORMAT_VERSION = 1


def open_hdf5(path: Path, problem: str):
    """``h5py.File(path, "r")`` without file locking; a file h5py cannot open is a ValueError
    that starts with ``problem``."""
    import h5py

    try:
        return h5py.File(path, "r", locking=False)
    except OSError as error:
        raise ValueError(f"{problem}: {error}") from error


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` (HDF5), atomically."""
    import h5py

    model._require_built()
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        with h5py.File(temp, "w") as file:
            _write(file, model)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def _write(file, model) -> None:
    from . import __version__

    file.attrs.update({
        "format": FORMAT, "format_version": FORMAT_VERSION, "fastnn_version": __version__,
        "dtype": model.dtype, "init": model.init,
        "seed": -1 if model.seed is None else model.seed, "loss": model.loss or "",
        "layers": json.dumps([layer.get_config() for layer in model.layers]),
    })
    weights = file.create_group("weights")
    for index, array in enumerate(model.get_weights()):
        weights.create_dataset(f"{'Wb'[index % 2]}{index // 2}", data=array)
    optimizer = model.optimizer
    if optimizer is not None:
        group = file.create_group("optimizer")
        group.attrs["name"] = optimizer.name
        group.attrs["config"] = json.dumps(optimizer.get_config())
        if optimizer.state1 is not None:
            group.create_dataset("state1", data=optimizer.state1)
            group.create_dataset("state2", data=optimizer.state2)
            group.create_dataset("step", data=optimizer.step)
    history = file.create_group("history")
    history.create_dataset("epoch", data=np.asarray(model.history.epoch, dtype=np.int64))
    history.attrs["seconds"] = model.history.seconds
    for key, values in model.history.history.items():
        history.create_dataset(key, data=np.asarray(values, dtype=np.float64))


def load_model(path):
    """Read a model written by ``Sequential.save``; ValueError for a file that is not one."""
    from . import optimizers
    from .layers import Dense
    from .model import Sequential

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no model file at {path}")
    with open_hdf5(path, f"path: {path} is not an HDF5 file (or it is damaged)") as file:
        if file.attrs.get("format") != FORMAT:
            raise ValueError(f"path: {path} is an HDF5 file but not a fastnn model "
                             f"(no format='{FORMAT}' attribute)")
        version = int(file.attrs["format_version"])
        if version > FORMAT_VERSION:
            raise ValueError(f"path: {path} has model format version {version}, written by "
                             f"fastnn {file.attrs.get('fastnn_version')}; this fastnn reads up to "
                             f"version {FORMAT_VERSION}: upgrade fastnn")
        try:
            layers = [Dense(**config) for config in json.loads(file.attrs["layers"])]
            seed = int(file.attrs["seed"])
            n_weights = len(layers) * 2
            weights = [file["weights"][f"{'Wb'[i % 2]}{i // 2}"][()] for i in range(n_weights)]
            model = Sequential(layers, input_dim=weights[0].shape[0], init=file.attrs["init"],
                               seed=None if seed < 0 else seed, dtype=file.attrs["dtype"])
            model.set_weights(weights)
            model.loss = file.attrs["loss"] or None
            if "optimizer" in file:
                group = file["optimizer"]
                optimizer = optimizers.OPTIMIZERS[group.attrs["name"]](
                    **json.loads(group.attrs["config"]))
                if "state1" in group:
                    optimizer.state1 = group["state1"][()]
                    optimizer.state2 = group["state2"][()]
                    optimizer.step[...] = group["step"][()]
                model.optimizer = optimizer
            history = file["history"]
            model.history.epoch = [int(e) for e in history["epoch"][()]]
            model.history.seconds = float(history.attrs["seconds"])
            model.history.history = {key: [float(v) for v in history[key][()]]
                                     for key in history if key != "epoch"}
        except (KeyError, TypeError, OSError, json.JSONDecodeError) as error:
            raise ValueError(f"path: {path} is a damaged fastnn model file: {error!r}") from error
    return model
