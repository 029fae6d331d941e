"""Model files in HDF5, and atomic writes.

Layout (format version 1)::

    /                attrs: format="fastnn-model", format_version, fastnn_version, dtype, init,
                            seed (-1 for none), loss ("" for none), layers (JSON), input_dim
    /weights/W0, b0, W1, b1, ...
    /optimizer       attrs: name, config (JSON), samples, epochs, reductions; datasets state1,
                     state2, state3 (RMSprop with momentum), step, product (absent: none)
    /history/<key>   one dataset per metric; /history/epoch
    /shuffle         the shuffling stream where the last fit left it (absent: none yet):
                     dataset key (624 uint32), attrs pos, has_gauss, cached_gaussian,
                     dropout_key (absent: derived from the state), and dataset order (the
                     last epoch's order of the samples; absent: none)

Writes go to a temporary file beside the target (``.NAME.fastnn-HOST-PID-XXXX.tmp``), then
``os.replace`` moves it onto the target: an interrupted save never leaves a half-written file at
``path``, and the next save or load of ``path`` removes temporaries whose writer has died. A new
file gets the umask's mode, an overwritten one keeps its mode, and a symlink keeps pointing where
it did (its target is replaced).
"""

import contextlib
import json
import os
import re
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from . import checks, optimizers
from .layers import Dense, Dropout
from .network import param_count

FORMAT = "fastnn-model"
FORMAT_VERSION = 1


def open_hdf5(path: Path, problem: str):
    """``h5py.File(path, "r")`` without file locking; a file h5py cannot open is a ValueError
    that starts with ``problem``."""
    try:
        return h5py.File(path, "r", locking=False)
    except OSError as error:
        raise ValueError(f"{problem}: {error}") from error


# ---------------------------------------------------------------- atomic writes

def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def _temp_pattern(name: str):
    """Matches the temporaries of writes to ``name``; groups host and pid."""
    return re.compile(rf"^\.{re.escape(name)}\.fastnn-(?P<host>\w+)-(?P<pid>\d+)-[^.]*\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process
        return True
    return True


def remove_stale_temporaries(path) -> list:
    """Delete the temporaries that writers of ``path`` on this machine left when they died
    (killed mid-write); returns their paths. Live writers' files are left alone."""
    path = Path(os.path.realpath(path))
    pattern, host, removed = _temp_pattern(path.name), _host(), []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            match = pattern.match(entry.name)
            if match and match["host"] == host and not _alive(int(match["pid"])):
                with contextlib.suppress(OSError):
                    os.remove(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _umask() -> int:
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # (no /proc: read it by setting it, then put it back)
    os.umask(mask)
    return mask


def check_folder(path) -> None:
    """A FileNotFoundError naming ``path`` where its folder does not exist (or is a file)."""
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        raise FileNotFoundError(f"{os.fspath(path)}: the folder {folder} does not exist "
                                f"{'(it is a file)' if folder.exists() else ''}".rstrip())


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path`` (the
    target of a symlink), with the old file's mode or, for a new file, the umask's."""
    check_folder(path)
    target = Path(os.path.realpath(path))
    remove_stale_temporaries(target)
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    handle, temp = tempfile.mkstemp(dir=target.parent, suffix=".tmp",
                                    prefix=f".{target.name}.fastnn-{_host()}-{os.getpid()}-")
    os.close(handle)
    try:
        yield Path(temp)
        os.chmod(temp, mode)
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


# ---------------------------------------------------------------- model files

@dataclass
class ModelRecord:
    """What a model file holds: the model's description and state, as plain values (the model
    makes one to save, and itself from one it loads)."""

    layers: list  # Dense and Dropout layers
    input_dim: int
    init: str
    seed: int | None
    dtype: str
    loss: str | None
    weights: list  # [W0, b0, W1, b1, ...]
    optimizer: object = None  # an optimizer with its state, or None
    epochs: list = field(default_factory=list)  # the history: its epochs,
    metrics: dict = field(default_factory=dict)  # its values per metric
    seconds: float = 0.0  # and its time
    shuffle: tuple | None = None  # the shuffling stream's state (shuffling.Shuffle), or None
    version: str = ""  # the fastnn that wrote it


def write_model(record: ModelRecord, path) -> None:
    """Write ``record`` to ``path`` (HDF5), atomically."""
    with atomic_path(path) as temp, h5py.File(temp, "w") as file:
        _write(file, record)


def _write(file, record: ModelRecord) -> None:
    file.attrs.update({
        "format": FORMAT, "format_version": FORMAT_VERSION, "fastnn_version": record.version,
        "dtype": record.dtype, "init": record.init, "input_dim": record.input_dim,
        "seed": -1 if record.seed is None else record.seed, "loss": record.loss or "",
        "layers": json.dumps([_layer_config(layer) for layer in record.layers]),
    })
    weights = file.create_group("weights")
    for index, array in enumerate(record.weights):
        weights.create_dataset(f"{'Wb'[index % 2]}{index // 2}", data=array)
    optimizer = record.optimizer
    if optimizer is not None:
        group = file.create_group("optimizer")
        group.attrs["name"] = optimizer.name
        group.attrs["config"] = json.dumps(optimizer.get_config())
        if getattr(optimizer, "state1", None) is not None:
            for name in ("state1", "state2", "step", "product"):
                group.create_dataset(name, data=getattr(optimizer, name))
            if optimizer.state3 is not None and optimizer.state3.size:
                group.create_dataset("state3", data=optimizer.state3)
            group.attrs.update({"samples": optimizer.samples, "epochs": optimizer.epochs,
                                "reductions": optimizer.reductions})
    history = file.create_group("history")
    history.create_dataset("epoch", data=np.asarray(record.epochs, dtype=np.int64))
    history.attrs["seconds"] = record.seconds
    for key, values in record.metrics.items():
        history.create_dataset(key, data=np.asarray(values, dtype=np.float64))
    if record.shuffle is not None:
        (_, key, pos, has_gauss, cached), order, dropout_key = record.shuffle
        group = file.create_group("shuffle")
        group.create_dataset("key", data=key)
        group.attrs.update({"pos": pos, "has_gauss": has_gauss, "cached_gaussian": cached,
                            "dropout_key": dropout_key})
        if order is not None:
            group.create_dataset("order", data=order)


class _Reader:
    """Reads the fields of one model file; every problem is a ValueError naming the file and
    the field."""

    def __init__(self, file, path):
        self.file, self.path = file, path

    def error(self, field, problem) -> ValueError:
        return ValueError(f"path: {self.path}: field {field!r} {problem}")

    def attr(self, field, kind, node=None, default=None, required=True):
        node = self.file if node is None else node
        where = field if node.name == "/" else f"{node.name.lstrip('/')}/{field}"
        if field not in node.attrs:
            if required:
                raise self.error(where, "is missing: the file is damaged or not a fastnn model")
            return default
        value = node.attrs[field]
        try:
            if kind is str:
                return value.decode() if isinstance(value, bytes) else str(value)
            if kind is int and not isinstance(value, (int, np.integer)) \
                    and float(value) != int(value):
                raise ValueError(value)
            return kind(value)
        except (TypeError, ValueError) as error:
            raise self.error(where, f"is not a valid {kind.__name__}: {value!r}") from error

    def json(self, field, node=None):
        text = self.attr(field, str, node)
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise self.error(field, f"is not valid JSON: {error}") from error

    def array(self, field, shape=None):
        if field not in self.file or not hasattr(self.file[field], "shape"):
            raise self.error(field, "is missing: the file is damaged")
        try:
            value = self.file[field][()]
        except OSError as error:
            raise self.error(field, f"cannot be read (truncated file?): {error}") from error
        if shape is not None and np.shape(value) != tuple(shape):
            raise self.error(field, f"has shape {np.shape(value)}, expected {tuple(shape)}")
        return value


def read_model(path) -> ModelRecord:
    """The record of a model file written by ``Sequential.save``, every field checked: a file
    that is not one, or a damaged one, is a ValueError that names the file and the field; a
    missing file a FileNotFoundError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no model file at {path}")
    remove_stale_temporaries(path)
    with open_hdf5(path, f"path: {path} is not an HDF5 file (or it is damaged)") as file:
        read = _Reader(file, path)
        if file.attrs.get("format") != FORMAT:
            raise ValueError(f"path: {path} is an HDF5 file but not a fastnn model "
                             f"(no format='{FORMAT}' attribute)")
        version = read.attr("format_version", int)
        if version > FORMAT_VERSION:
            raise ValueError(f"path: {path} has model format version {version}, written by "
                             f"fastnn {file.attrs.get('fastnn_version')}; this fastnn reads up to "
                             f"version {FORMAT_VERSION}: upgrade fastnn")
        try:
            layers = [_layer(config) for config in read.json("layers")]
        except (TypeError, ValueError, AttributeError) as error:
            raise read.error("layers", f"does not describe Dense and Dropout layers: "
                                       f"{error}") from error
        dense = [layer for layer in layers if isinstance(layer, Dense)]
        input_dim = read.attr("input_dim", int, required=False)
        if input_dim is None:  # (files written before input_dim was stored)
            input_dim = np.shape(read.array("weights/W0"))[0] if dense else 0
        sizes = [input_dim] + [layer.units for layer in dense]
        weights = []
        for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            weights.append(read.array(f"weights/W{index}", (n_in, n_out)))
            weights.append(read.array(f"weights/b{index}", (n_out,)))
        loss = read.attr("loss", str)
        if loss and dense:
            try:
                checks.loss_output(checks.loss_name(loss), dense[-1].activation)
            except ValueError as error:
                raise read.error("loss", str(error)) from error
        seed = read.attr("seed", int)
        record = ModelRecord(layers, input_dim, read.attr("init", str),
                             None if seed < 0 else seed, read.attr("dtype", str), loss or None,
                             weights, version=str(file.attrs.get("fastnn_version", "")))
        if "optimizer" in file:
            record.optimizer = _read_optimizer(read, file["optimizer"], param_count(sizes),
                                               record.dtype)
        _read_history(read, file, record)
        if "shuffle" in file:
            group = file["shuffle"]
            state = ("MT19937", read.array("shuffle/key", (624,)).astype(np.uint32),
                     read.attr("pos", int, group), read.attr("has_gauss", int, group),
                     read.attr("cached_gaussian", float, group))
            record.shuffle = (state, read.array("shuffle/order") if "order" in group else None,
                              read.attr("dropout_key", int, group, required=False))
    return record


def _layer_config(layer) -> dict:
    """A layer's settings as the file keeps them (a Dropout's with ``class``; a Dense's as
    they were before there were other layers)."""
    return {"class": "Dropout", **layer.get_config()} if isinstance(layer, Dropout) else \
        layer.get_config()


def _layer(config: dict):
    """The layer of a config ``_layer_config`` wrote."""
    config = dict(config)
    return Dropout(**config) if config.pop("class", "Dense") == "Dropout" else Dense(**config)


def _read_optimizer(read, group, size: int, dtype: str):
    name = read.attr("name", str, group)
    if name not in optimizers.OPTIMIZERS:
        raise read.error("optimizer/name", f"is {name!r}, not one of {list(optimizers.OPTIMIZERS)}")
    config = read.json("config", group)
    try:
        optimizer = optimizers.OPTIMIZERS[name](**config)
    except (TypeError, ValueError) as error:
        raise read.error("optimizer/config", f"is invalid: {error}") from error
    if "state1" in group:
        optimizer.state1 = read.array("optimizer/state1", (size,)).astype(dtype, copy=False)
        optimizer.state2 = read.array("optimizer/state2", (size,)).astype(dtype, copy=False)
        optimizer.state3 = read.array("optimizer/state3", (size,)).astype(dtype, copy=False) \
            if "state3" in group else np.empty(0, dtype)
        optimizer.step[...] = read.array("optimizer/step", (1,))
        if "product" in group:
            optimizer.product[...] = read.array("optimizer/product", (1,))
        optimizer.samples = read.attr("samples", int, group, default=0, required=False)
        optimizer.epochs = read.attr("epochs", int, group, default=0, required=False)
        optimizer.reductions = read.attr("reductions", int, group, default=0, required=False)
    return optimizer


def _read_history(read, file, record: ModelRecord) -> None:
    if "history" not in file:
        raise read.error("history", "is missing: the file is damaged")
    history = file["history"]
    record.epochs = [int(e) for e in np.ravel(read.array("history/epoch"))]
    record.seconds = read.attr("seconds", float, history)
    for key in history:
        if key != "epoch":
            values = np.ravel(read.array(f"history/{key}"))
            if values.size != len(record.epochs):
                raise read.error(f"history/{key}", f"has {values.size} values for "
                                                   f"{len(record.epochs)} epochs")
            record.metrics[key] = [float(v) for v in values]
