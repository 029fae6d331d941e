"""load_cat on the real files, its errors on bad files, fetch_cat from a local server, planar."""

import functools
import http.server
import socket
import threading
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import needs_cat_files, needs_football, real_data_folder, real_football_folder

from fastnn import datasets


@needs_cat_files
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_load_cat_real_files(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the real files match their pinned checksums
        (X_train, y_train), (X_test, y_test), classes = datasets.load_cat(
            real_data_folder(), dtype=dtype, download=False)
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


@pytest.fixture
def fake_sums(monkeypatch):
    """Pin the sums of the fake files (write_fake_cat writes the same bytes every time)."""
    def pin(folder):
        sums = write_fake_cat(folder)
        monkeypatch.setattr(datasets, "CAT_FILES", sums)
        return sums
    return pin


def test_an_explicit_path_is_authoritative(isolated, fake_sums, monkeypatch):
    """path= (and --data) gives both files from that folder or an error naming it: never a
    fallback to $FASTNN_DATA, the cache or a download, never files from two folders."""
    fake_sums(isolated / "good")
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "good"))
    monkeypatch.setenv("FASTNN_CAT_URL", (isolated / "good").as_uri())
    (isolated / "empty").mkdir()
    half = isolated / "half"
    write_fake_cat(half)
    (half / "train_catvnoncat.h5").unlink()
    for folder, problem in ((isolated / "empty", "lacks train_catvnoncat.h5 and test_"),
                            (isolated / "nowhere", "does not exist"),
                            (half, "lacks train_catvnoncat.h5;")):
        with pytest.raises(FileNotFoundError, match=f"path '{folder}': the folder {folder} "
                                                    f"{problem}"):
            datasets.load_cat(folder)
    assert not datasets.cache_dir().exists()  # nothing was downloaded
    (X, _), _, _ = datasets.load_cat(isolated / "good")
    assert X.shape == (3, 12288)


def test_fastnn_data_is_authoritative_too(isolated, fake_sums, monkeypatch):
    fake_sums(isolated / "cache/fastnn/datasets")  # good files in the cache: not used
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "elsewhere"))
    with pytest.raises(FileNotFoundError, match=r"\$FASTNN_DATA: the folder .*elsewhere does "
                                                r"not exist"):
        datasets.load_cat()
    monkeypatch.delenv("FASTNN_DATA")
    (X, _), _, _ = datasets.load_cat(download=False)
    assert X.shape == (3, 12288)


def test_without_a_folder_both_files_come_from_one_place(isolated, fake_sums):
    """The cache holds only the training file, ./datasets both: both come from ./datasets."""
    fake_sums(isolated / "datasets")
    cache = isolated / "cache/fastnn/datasets"
    cache.mkdir(parents=True)
    (cache / "train_catvnoncat.h5").write_bytes(b"another file")
    (X, _), (X_test, _), _ = datasets.load_cat(download=False)
    assert X.shape == (3, 12288) and X_test.shape == (3, 12288)
    (isolated / "datasets/test_catvnoncat.h5").unlink()
    with pytest.raises(FileNotFoundError, match="neither .*cache/fastnn/datasets nor "
                                                ".*datasets, and download=False"):
        datasets.load_cat(download=False)


def test_checksum_mismatch_is_refused_unless_verify_is_off(isolated):
    write_fake_cat(isolated / "data")  # files that differ from the real ones' pinned sums
    with pytest.raises(ValueError, match=r"train_catvnoncat.h5: SHA-256 .* differs from the "
                                         r"known .*refused; .*verify=False"):
        datasets.load_cat(isolated / "data")
    with pytest.warns(datasets.ChecksumWarning) as caught:
        (X, y), (Xt, yt), classes = datasets.load_cat(isolated / "data", verify=False)
    assert [Path(str(w.message).split(": SHA")[0]).name for w in caught] == list(
        datasets.CAT_FILES)
    assert X.shape == (3, 12288) and classes == ["non-cat", "cat"]


def test_corrupt_and_wrong_files(isolated, fake_sums):
    fake_sums(isolated / "data")
    train = isolated / "data/train_catvnoncat.h5"
    train.write_bytes(train.read_bytes()[:1000])  # truncated
    with pytest.warns(datasets.ChecksumWarning), \
            pytest.raises(ValueError, match="train_catvnoncat.h5: not a readable HDF5 file"):
        datasets.load_cat(isolated / "data", verify=False)
    write_fake_cat(isolated / "wrong", drop="train_set_y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", datasets.ChecksumWarning)
        with pytest.raises(ValueError, match=r"lacks the dataset\(s\) \['train_set_y'\]"):
            datasets.load_cat(isolated / "wrong", verify=False)


def test_the_default_mirrors_are_tried_in_order_until_a_file_matches(isolated, fake_sums,
                                                                     monkeypatch):
    """Mirror 1 serves a saved web page for one file and lacks the other; mirror 2 has both:
    each file comes from the first mirror whose copy matches its pinned sum."""
    fake_sums(isolated / "good")
    bad = isolated / "bad"
    bad.mkdir()
    (bad / "train_catvnoncat.h5").write_text("<!DOCTYPE HTML><html>a saved page</html>")
    monkeypatch.setattr(datasets, "CAT_MIRRORS", (bad.as_uri(), (isolated / "good").as_uri()))
    (X, _), _, _ = datasets.load_cat()
    assert X.shape == (3, 12288)
    cached = datasets.cache_dir()
    assert sorted(p.name for p in cached.iterdir()) == sorted(datasets.CAT_FILES)
    for name in datasets.CAT_FILES:
        assert (cached / name).read_bytes() == (isolated / "good" / name).read_bytes()


def test_no_mirror_with_the_file_is_an_error_listing_each_answer(isolated, fake_sums):
    fake_sums(isolated / "good")
    bad = isolated / "bad"
    bad.mkdir()
    (bad / "train_catvnoncat.h5").write_text("<!DOCTYPE HTML>")
    with pytest.raises(OSError) as info:
        datasets.fetch_cat([bad.as_uri(), (isolated / "nothing").as_uri()], dest=isolated / "d")
    message = str(info.value)
    assert message.startswith("could not download train_catvnoncat.h5 from any of 2 mirror(s)")
    assert "bad/train_catvnoncat.h5: SHA-256" in message and "(refused)" in message
    assert "nothing/train_catvnoncat.h5: " in message
    assert list((isolated / "d").iterdir()) == []  # no partial file left behind


def test_the_default_mirror_list_skips_the_saved_web_pages():
    """ramakris/coursera-deeplearning's top-level datasets/ holds HTML pages (issue 11)."""
    assert all("/datasets" in url for url in datasets.CAT_MIRRORS)
    assert not any(url.endswith("coursera-deeplearning/master/datasets")
                   for url in datasets.CAT_MIRRORS)


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
    with pytest.raises(OSError, match=r"test_catvnoncat.h5: SHA-256 .* \(refused\)"):
        datasets.fetch_cat(url, dest=isolated / "dest")
    assert sorted(p.name for p in (isolated / "dest").iterdir()) == ["train_catvnoncat.h5"]


def test_fetch_fails_clearly_when_unreachable(isolated, monkeypatch):
    with socket.socket() as sock:  # a port where nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError, match=r"http://127.0.0.1:\d+/train_catvnoncat.h5: .*refused"):
        datasets.fetch_cat(f"http://127.0.0.1:{port}", dest=isolated / "dest", timeout=2)
    assert list((isolated / "dest").iterdir()) == []
    monkeypatch.setenv("FASTNN_CAT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(FileNotFoundError, match="downloading them failed: could not download"):
        datasets.load_cat()


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


@needs_football
def test_load_football_real_file():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (X, y), (X_val, y_val) = datasets.load_football(real_football_folder(), download=False)
    assert X.shape == (211, 2) and X_val.shape == (200, 2) and X.dtype == np.float64
    assert y.shape == (211,) and set(np.unique(y)) == set(np.unique(y_val)) == {0, 1}
    assert int(y.sum()) == 106  # (0.5024 of 211)


def _write_fake_football(path):
    import scipy.io

    rng = np.random.default_rng(1)
    scipy.io.savemat(path, {"X": rng.normal(size=(5, 2)), "y": np.arange(5)[:, None] % 2,
                            "Xval": rng.normal(size=(4, 2)), "yval": np.ones((4, 1))})
    return datasets.sha256(path)


def test_load_football_finds_downloads_and_refuses_as_load_cat(isolated, monkeypatch):
    """From the mirrors' data.mat into the cache as football.mat; an explicit folder without
    it, or a changed file, is an error naming it."""
    mirror = isolated / "mirror"
    mirror.mkdir()
    monkeypatch.setattr(datasets, "FOOTBALL_SHA256", _write_fake_football(mirror / "data.mat"))
    monkeypatch.setattr(datasets, "FOOTBALL_MIRRORS", (mirror.as_uri(),))
    with pytest.raises(FileNotFoundError, match=r"path '.*': the folder .* does not exist; it "
                                                r"must hold football.mat"):
        datasets.load_football(isolated / "nowhere")
    with pytest.raises(FileNotFoundError, match="football.mat: they are in neither .*, and "
                                                "download=False"):
        datasets.load_football(download=False)
    (X, y), (X_val, y_val) = datasets.load_football()
    assert X.shape == (5, 2) and y.tolist() == [0, 1, 0, 1, 0] and y_val.dtype == np.int64
    assert [p.name for p in datasets.cache_dir().iterdir()] == ["football.mat"]
    _write_fake_football(datasets.cache_dir() / "football.mat")  # the same bytes: accepted
    (mirror / "data.mat").write_bytes(b"MATLAB 5.0 but not really")
    (datasets.cache_dir() / "football.mat").write_bytes(b"changed")
    with pytest.raises(ValueError, match=r"football.mat: SHA-256 .* differs from the known"):
        datasets.load_football()
