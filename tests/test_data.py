"""Spec for autograder.data: downloads come from a local HTTP server, never the internet."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import pickle
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder import learnable
from autograder.data import (
    MNIST_FILENAME,
    MNIST_GIT_BLOB,
    SHA256_ENV,
    DataError,
    download_mnist,
    git_blob_id,
    load_mnist,
    write_mnist_pickle,
)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_splits_equal(actual: tuple, expected: tuple) -> None:
    assert len(actual) == len(expected) == 3
    for (x, y), (x_expected, y_expected) in zip(actual, expected):
        np.testing.assert_array_equal(x, x_expected)
        np.testing.assert_array_equal(y, y_expected)
        assert (x.dtype, y.dtype) == (x_expected.dtype, y_expected.dtype)


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # keep test output quiet
        pass


class LocalMirror:
    """A ThreadingHTTPServer on 127.0.0.1 serving `root`, recording every GET path."""

    def __init__(self, root: Path):
        self.root = root
        handler = functools.partial(_CountingHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.requests = []
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return self.server.requests

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    server = LocalMirror(root)
    yield server
    server.close()


@pytest.fixture
def served(mirror):
    """A small mnist.pkl.gz on the mirror: (url, sha256, splits written)."""
    splits = write_mnist_pickle(mirror.root / MNIST_FILENAME)
    return mirror.url(MNIST_FILENAME), sha256_of(mirror.root / MNIST_FILENAME), splits


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{MNIST_FILENAME}"


@pytest.fixture
def silent_url():
    """A port that accepts connections but never answers, so reads time out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/{MNIST_FILENAME}"


class Exploit:
    """Unpickling this runs `touch marker`, unless the loader refuses it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_exploit(path: Path, marker: Path) -> Path:
    x, y = np.zeros((1, 784), np.float32), np.zeros(1, np.int64)
    payload = ((Exploit(marker), y), (x, y), (x, y))
    with gzip.open(path, "wb") as file:
        pickle.dump(payload, file, protocol=2)
    return path


def write_pickle(path: Path, obj: object) -> Path:
    with gzip.open(path, "wb") as file:
        pickle.dump(obj, file, protocol=2)
    return path


# --- download and cache ---------------------------------------------------------------------

def test_download_writes_verified_cache_file(served, mirror, cache):
    url, sha256, splits = served
    path = download_mnist(cache_dir=cache, mirrors=[url], sha256=sha256)
    assert path == cache / MNIST_FILENAME
    assert sha256_of(path) == sha256
    assert_splits_equal(load_mnist(path), splits)
    assert sorted(p.name for p in cache.iterdir()) == [MNIST_FILENAME]  # no temp files left
    assert mirror.requests == [f"/{MNIST_FILENAME}"]


def test_second_call_uses_cache_without_a_request(served, mirror, cache):
    url, sha256, _ = served
    first = download_mnist(cache_dir=cache, mirrors=[url], sha256=sha256)
    second = download_mnist(cache_dir=cache, mirrors=[url], sha256=sha256)
    assert first == second
    assert len(mirror.requests) == 1


def test_cached_file_corrupted_later_is_downloaded_again(served, mirror, cache):
    url, sha256, splits = served
    path = download_mnist(cache_dir=cache, mirrors=[url], sha256=sha256)
    path.write_bytes(b"bit rot")
    assert download_mnist(cache_dir=cache, mirrors=[url], sha256=sha256) == path
    assert len(mirror.requests) == 2
    assert sha256_of(path) == sha256
    assert_splits_equal(load_mnist(path), splits)


@pytest.mark.parametrize("first_mirror", ["missing_404", "closed_port"])
def test_falls_back_to_the_next_mirror(first_mirror, served, mirror, cache, closed_port_url):
    url, sha256, splits = served
    bad = mirror.url("missing.pkl.gz") if first_mirror == "missing_404" else closed_port_url
    path = download_mnist(cache_dir=cache, mirrors=[bad, url], sha256=sha256)
    assert_splits_equal(load_mnist(path), splits)
    assert mirror.requests[-1] == f"/{MNIST_FILENAME}"


def test_all_mirrors_failing_lists_each_with_its_reason(mirror, cache, closed_port_url, silent_url):
    missing = mirror.url("missing.pkl.gz")
    with pytest.raises(DataError) as caught:
        download_mnist(cache_dir=cache, mirrors=[missing, closed_port_url, silent_url],
                       sha256="0" * 64, timeout=0.5)
    lines = str(caught.value).splitlines()
    assert any(missing in line and "404" in line for line in lines)
    assert any(closed_port_url in line and "refused" in line.lower() for line in lines)
    assert any(silent_url in line and "timed out" in line for line in lines)
    assert list(cache.iterdir()) == []


def test_tampered_file_is_refused_and_nothing_is_cached(served, mirror, cache):
    url, sha256, _ = served
    served_file = mirror.root / MNIST_FILENAME
    served_file.write_bytes(served_file.read_bytes() + b"tampered")
    with pytest.raises(DataError, match="sha256 mismatch") as caught:
        download_mnist(cache_dir=cache, mirrors=[url], sha256=sha256)
    assert sha256 in str(caught.value)
    assert sha256_of(served_file) in str(caught.value)
    assert list(cache.iterdir()) == []


def test_stale_cache_is_removed_even_when_every_mirror_fails(served, cache, closed_port_url):
    _, sha256, _ = served
    cache.mkdir()
    (cache / MNIST_FILENAME).write_bytes(b"stale")
    with pytest.raises(DataError):
        download_mnist(cache_dir=cache, mirrors=[closed_port_url], sha256=sha256)
    assert list(cache.iterdir()) == []


def test_environment_variables_choose_cache_dir_and_mirrors(served, mirror, tmp_path, monkeypatch):
    url, sha256, splits = served
    env_cache = tmp_path / "from_env"
    missing = mirror.url("missing.pkl.gz")
    monkeypatch.setenv("AUTOGRADER_DATA", str(env_cache))
    monkeypatch.setenv("AUTOGRADER_MNIST_MIRRORS", f" {missing},\n {url} ")
    path = download_mnist(sha256=sha256)
    assert path == env_cache / MNIST_FILENAME
    assert mirror.requests == ["/missing.pkl.gz", f"/{MNIST_FILENAME}"]
    assert_splits_equal(load_mnist(path), splits)


# --- safe loading ---------------------------------------------------------------------------

def test_loader_refuses_a_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "marker"
    path = write_exploit(tmp_path / "evil.pkl.gz", marker)
    with pytest.raises(DataError, match=r"refuses to load (posix|nt|os)\.system"):
        load_mnist(path)
    assert not marker.exists()


def test_download_refuses_a_pickle_that_runs_code_even_with_matching_hash(mirror, cache, tmp_path):
    marker = tmp_path / "marker"
    evil = write_exploit(mirror.root / MNIST_FILENAME, marker)
    with pytest.raises(DataError, match="refuses to load"):
        download_mnist(cache_dir=cache, mirrors=[mirror.url(MNIST_FILENAME)], sha256=sha256_of(evil))
    assert not marker.exists()
    assert list(cache.iterdir()) == []


def test_loader_refuses_codecs_other_than_latin1(tmp_path):
    class Rot13:
        def __reduce__(self):
            import _codecs
            return (_codecs.encode, ("text", "rot13"))

    path = write_pickle(tmp_path / "codec.pkl.gz", (Rot13(),))
    with pytest.raises(DataError, match="refuses to load _codecs.encode"):
        load_mnist(path)


def test_truncated_gzip_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "truncated.pkl.gz"
    write_mnist_pickle(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated.pkl.gz"):
        load_mnist(path)


def test_not_a_gzip_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "plain.pkl.gz"
    path.write_bytes(b"this is not gzip")
    with pytest.raises(DataError, match="plain.pkl.gz"):
        load_mnist(path)


@pytest.mark.parametrize(("payload", "message"), [
    ((np.zeros((1, 784), np.float32), np.zeros(1, np.int64)), "expected 3 splits"),
    ("three splits", "expected 3 splits"),
    (((1, 2), (1, 2), (1, 2)), "train split should be a pair of arrays"),
    (((np.zeros(784, np.float32), np.zeros(1, np.int64)),) * 3, "train x should be a 2-D float"),
    (((np.zeros((2, 784), np.float32), np.zeros(2, np.float32)),) * 3, "train y should be a 1-D integer"),
    (((np.zeros((2, 784), np.float32), np.zeros(3, np.int64)),) * 3, "train has 2 images but 3 labels"),
])
def test_wrong_structure_is_a_clear_data_error(tmp_path, payload, message):
    path = write_pickle(tmp_path / "odd.pkl.gz", payload)
    with pytest.raises(DataError, match=message):
        load_mnist(path)


# --- the small stand-in file ----------------------------------------------------------------

def test_write_mnist_pickle_matches_the_mnist_layout(tmp_path):
    splits = write_mnist_pickle(tmp_path / "small.pkl.gz", n_train=7, n_valid=5, n_test=3, seed=1)
    for (x, y), n in zip(splits, (7, 5, 3)):
        assert (x.shape, x.dtype, y.shape, y.dtype) == ((n, 784), np.float32, (n,), np.int64)
        assert 0 <= x.min() and x.max() <= 1
        assert 0 <= y.min() and y.max() <= 9
    assert_splits_equal(load_mnist(tmp_path / "small.pkl.gz"), splits)


def test_write_mnist_pickle_is_reproducible_from_its_seed(tmp_path):
    write_mnist_pickle(tmp_path / "a.pkl.gz", seed=3)
    write_mnist_pickle(tmp_path / "b.pkl.gz", seed=3)
    write_mnist_pickle(tmp_path / "c.pkl.gz", seed=4)
    assert sha256_of(tmp_path / "a.pkl.gz") == sha256_of(tmp_path / "b.pkl.gz")
    assert sha256_of(tmp_path / "a.pkl.gz") != sha256_of(tmp_path / "c.pkl.gz")


# --- the default pin: the mirrors' git blob id ---------------------------------------------------

def blob_id_of(path: Path) -> str:
    """Computed here from the definition, not with the kit's function."""
    content = path.read_bytes()
    return hashlib.sha1(b"blob " + str(len(content)).encode() + b"\0" + content).hexdigest()


def test_the_blob_id_is_gits(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"hello\n")
    assert git_blob_id(path) == blob_id_of(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object


def test_a_download_matching_the_blob_id_is_accepted(served, cache, monkeypatch):
    url, _, splits = served
    monkeypatch.delenv(SHA256_ENV, raising=False)
    blob = blob_id_of(cache.parent / "served" / MNIST_FILENAME)
    path = download_mnist(cache_dir=cache, mirrors=[url], git_blob=blob)
    assert_splits_equal(load_mnist(path), splits)
    assert download_mnist(cache_dir=cache, mirrors=[], git_blob=blob) == path  # cached, checked again


def test_with_no_configuration_only_the_mirrors_file_is_accepted(served, cache, monkeypatch):
    """The default pin is the real file's blob id: any other file is refused and not cached."""
    url, _, _ = served
    monkeypatch.delenv(SHA256_ENV, raising=False)
    served_blob = blob_id_of(cache.parent / "served" / MNIST_FILENAME)
    with pytest.raises(DataError, match="git blob mismatch") as caught:
        download_mnist(cache_dir=cache, mirrors=[url])
    assert MNIST_GIT_BLOB in str(caught.value) and served_blob in str(caught.value)
    assert not (cache / MNIST_FILENAME).exists()


def test_the_sha256_override_wins_over_the_blob_id(served, cache, monkeypatch):
    url, sha256, splits = served
    monkeypatch.setenv(SHA256_ENV, sha256)
    path = download_mnist(cache_dir=cache, mirrors=[url])
    assert_splits_equal(load_mnist(path), splits)
    monkeypatch.setenv(SHA256_ENV, "0" * 64)
    with pytest.raises(DataError, match="sha256 mismatch"):
        download_mnist(cache_dir=cache, mirrors=[url])


# --- lesson 06's learnable images ---------------------------------------------------------

def test_the_images_are_drawn_from_the_seed_and_normalized():
    x, y = learnable.draw_images(3)
    again, _ = learnable.draw_images(3)
    other, _ = learnable.draw_images(4)
    assert x.shape == (learnable.CNN_BATCH, 784) and y.shape == (learnable.CNN_BATCH,)
    assert torch.equal(x, again) and not torch.equal(x, other)
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 1e-5


def test_the_grader_s_cnn_is_the_course_s():
    # the course's comments: 28 -> 14 -> 7 -> 4 -> 2, channels 8, 16, 32, 32
    blocks = [(2, 8, 14, 14), (2, 16, 7, 7), (2, 32, 4, 4), (2, 32, 2, 2)]
    expected = [(2, 1, 28, 28)] + [s for b in blocks for s in (b, b)] + [(2, 32, 1, 1), (2, 32), (2, 10)]
    assert learnable.cnn_layer_shapes(2) == expected


def test_ten_sgd_steps_lower_the_cnn_s_loss_for_every_seed_tried():
    for seed in range(20):
        x, y = learnable.draw_images(seed)
        torch.manual_seed(seed)
        model = learnable.cnn()
        weights = [p.detach().clone() for p in model.parameters()]
        for _ in range(learnable.CNN_STEPS):
            F.cross_entropy(model(x), y).backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= learnable.CNN_LR * p.grad
                    p.grad = None
        with torch.no_grad():
            before = float(F.cross_entropy(learnable.cnn_network(weights)(x), y))
            after = float(F.cross_entropy(model(x), y))
        assert after < before, (seed, before, after)
