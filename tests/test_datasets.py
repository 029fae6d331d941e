"""load_cat on the real files, its errors on bad files, fetch_cat from a local server, planar."""

import functools
import http.server
import os
import socket
import threading
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from fastnn import datasets


def real_data_folder():
    for folder in (os.environ.get("FASTNN_DATA"), Path(__file__).parents[2] / "shared/datasets"):
        if folder and all((Path(folder) / name).is_file() for name in datasets.CAT_FILES):
            return Path(folder)
    return None


needs_cat_files = pytest.mark.skipif(real_data_folder() is None,
                                     reason="set FASTNN_DATA to the folder of the cat files")


@needs_cat_files
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_load_cat_real_files(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the real files match their pinned checksums
        (X_train, y_train), (X_test, y_test), classes = datasets.load_cat(
            real_data_folder(), dtype=dtype, download=False, strict=True)
    assert X_train.shape == (209, 12288) and X_test.shape == (50, 12288)
    assert X_train.dtype == np.dtype(dtype) and y_train.shape == (209,)
    assert X_train.min() == 0 and X_train.max() == 1
    assert int(y_train.sum()) == 72 and set(np.unique(y_test)) == {0, 1}
    assert classes == ["non-cat", "cat"]
    with h5py.File(real_data_folder() / "train_catvnoncat.h5", "r") as file:
        first = file["train_set_x"][0]
    np.testing.assert_allclose(X_train[0], first.reshape(-1) / 255, rtol=1e-6)


def write_fake_cat(folder, n=3, drop=None):
    """Small files with the real layout (and names), for the error and download tests."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, prefix in datasets.CAT_PREFIX.items():
        with h5py.File(folder / name, "w") as file:
            data = {f"{prefix}_set_x": rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
                    f"{prefix}_set_y": np.arange(n) % 2,
                    "list_classes": np.array([b"non-cat", b"cat"])}
            for key, value in data.items():
                if key != drop:
                    file.create_dataset(key, data=value)
    return {name: datasets.sha256(folder / name) for name in datasets.CAT_FILES}


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No FASTNN_DATA, a private cache folder, a private working folder."""
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_missing_files_name_the_file_and_every_folder(isolated):
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_cat(isolated / "nowhere", download=False)
    message = str(info.value)
    assert "train_catvnoncat.h5: not found" in message
    for folder in (isolated / "nowhere", isolated / "cache/fastnn/datasets", isolated / "datasets",
                   isolated.parent / "shared/datasets"):
        assert str(folder) in message
    assert "FASTNN_DATA" in message and "fetch_cat" in message


def test_checksum_mismatch_warns_or_raises(isolated):
    write_fake_cat(isolated / "data")
    with pytest.warns(datasets.ChecksumWarning) as caught:
        (X, y), (Xt, yt), classes = datasets.load_cat(isolated / "data", download=False)
    assert [str(w.message).split(": SHA")[0].rsplit("/", 1)[1] for w in caught] == list(
        datasets.CAT_FILES)
    assert X.shape == (3, 12288) and classes == ["non-cat", "cat"]
    with pytest.raises(ValueError, match="SHA-256 .* differs from the known"):
        datasets.load_cat(isolated / "data", download=False, strict=True)


def test_corrupt_and_wrong_files(isolated, monkeypatch):
    sums = write_fake_cat(isolated / "data")
    monkeypatch.setattr(datasets, "CAT_FILES", sums)
    train = isolated / "data/train_catvnoncat.h5"
    train.write_bytes(train.read_bytes()[:1000])  # truncated
    with pytest.warns(datasets.ChecksumWarning), \
            pytest.raises(ValueError, match="train_catvnoncat.h5: not a readable HDF5 file"):
        datasets.load_cat(isolated / "data", download=False)
    write_fake_cat(isolated / "wrong", drop="train_set_y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", datasets.ChecksumWarning)
        with pytest.raises(ValueError, match=r"lacks the dataset\(s\) \['train_set_y'\]"):
            datasets.load_cat(isolated / "wrong", download=False)


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def test_load_cat_downloads_when_missing(isolated, server, monkeypatch):
    url, root = server
    monkeypatch.setattr(datasets, "CAT_FILES", write_fake_cat(root))
    monkeypatch.setenv("FASTNN_CAT_URL", url)
    (X, y), _, classes = datasets.load_cat()
    assert X.shape == (3, 12288)
    cached = isolated / "cache/fastnn/datasets"
    assert sorted(p.name for p in cached.iterdir()) == sorted(datasets.CAT_FILES)


def test_fetch_refuses_a_file_with_the_wrong_checksum(isolated, server, monkeypatch):
    url, root = server
    sums = write_fake_cat(root)
    (root / "test_catvnoncat.h5").write_bytes(b"not the file")
    monkeypatch.setattr(datasets, "CAT_FILES", sums)
    with pytest.raises(ValueError, match="test_catvnoncat.h5: SHA-256 .* refusing"):
        datasets.fetch_cat(url, dest=isolated / "dest")
    assert sorted(p.name for p in (isolated / "dest").iterdir()) == ["train_catvnoncat.h5"]


def test_fetch_fails_clearly_when_unreachable(isolated):
    with socket.socket() as sock:  # a port where nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError, match=r"could not download http://127.0.0.1:\d+/train"):
        datasets.fetch_cat(f"http://127.0.0.1:{port}", dest=isolated / "dest", timeout=2)
    assert list((isolated / "dest").iterdir()) == []
    with pytest.raises(FileNotFoundError, match="Downloading them failed: could not download"):
        os.environ["FASTNN_CAT_URL"] = f"http://127.0.0.1:{port}"
        try:
            datasets.load_cat()
        finally:
            del os.environ["FASTNN_CAT_URL"]


def test_fetch_times_out(isolated):
    """A server that accepts and never answers: the download gives up after the timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with pytest.raises(OSError, match=r"timeout 0.3 s"):
            datasets.fetch_cat(f"http://127.0.0.1:{port}", dest=isolated / "dest", timeout=0.3)


def test_make_planar():
    X, y = datasets.make_planar()
    assert X.shape == (400, 2) and y.shape == (400,) and y.sum() == 200
    X2, _ = datasets.make_planar(seed=1)
    np.testing.assert_array_equal(X, X2)
    assert np.abs(X).max() < 5
    with pytest.raises(ValueError, match="n: must be even"):
        datasets.make_planar(5)
