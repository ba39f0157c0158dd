"""Data loaders: scikit-learn's digits, and CIFAR-10 / MNIST files written here in their
official formats."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from convnets import data

# ---------------------------------------------------------------- writers (official formats)


def write_cifar10(folder, n_per_batch=4, n_test=3, seed=0, meta=True):
    """Write data_batch_1..5 and test_batch like the official python version: pickled
    dicts with b'data' uint8 (N, 3072) (R, G, B planes, row-major) and b'labels' list."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = n_test if name == "test_batch" else n_per_batch
        images = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"data": images, b"labels": labels,
                         b"filenames": [b"x.png"] * n}, f, protocol=2)
        written[name] = (images, np.array(labels))
    if meta:
        with open(folder / "batches.meta", "wb") as f:
            pickle.dump({b"label_names": [f"class{i}".encode() for i in range(10)],
                         b"num_cases_per_batch": n_per_batch}, f, protocol=2)
    return written


def write_idx(path, array, compress=False):
    """Write an unsigned-byte IDX file: magic 0x0000080D (D = ndim), sizes, data."""
    array = np.asarray(array, dtype=np.uint8)
    payload = struct.pack(">I", 0x0800 | array.ndim)
    payload += struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    if compress:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def write_mnist(folder, n_train=7, n_test=4, seed=0, compress=False):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array, compress=compress)
    return arrays


# ---------------------------------------------------------------- digits

def test_digits_splits_shapes_and_scaling():
    d = data.load_digits(subtract_mean=False)
    sizes = [len(d[f"X_{p}"]) for p in ("train", "val", "test")]
    assert sum(sizes) == 1797  # every real image, each in exactly one split
    assert sizes == [1257, 180, 360]
    for p in ("train", "val", "test"):
        assert d[f"X_{p}"].shape[1:] == (1, 8, 8)
        assert d[f"X_{p}"].dtype == np.float32
        assert d[f"y_{p}"].dtype == np.int64
        assert len(d[f"y_{p}"]) == len(d[f"X_{p}"])
    X = np.concatenate([d["X_train"], d["X_val"], d["X_test"]])
    assert X.min() == 0.0 and X.max() == 1.0
    # The scaled counts are multiples of 1/16 (the raw data are counts 0..16).
    assert np.allclose(X * 16, np.round(X * 16))
    assert d["class_names"] == [str(i) for i in range(10)]
    assert np.all(d["mean_image"] == 0)


def test_digits_split_is_stratified_and_seeded():
    d = data.load_digits()
    counts = np.bincount(d["y_test"], minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # 360 / 10, every class represented
    again = data.load_digits()
    np.testing.assert_array_equal(d["X_train"], again["X_train"])
    np.testing.assert_array_equal(d["y_val"], again["y_val"])
    other = data.load_digits(seed=1)
    assert not np.array_equal(d["y_train"], other["y_train"])


def test_digits_mean_is_the_training_mean():
    raw = data.load_digits(subtract_mean=False, dtype=np.float64)
    d = data.load_digits(dtype=np.float64)
    mean = raw["X_train"].mean(axis=0)
    np.testing.assert_allclose(d["mean_image"], mean)
    np.testing.assert_allclose(d["X_test"], raw["X_test"] - mean)
    np.testing.assert_allclose(d["X_train"].mean(axis=0), 0, atol=1e-12)
    assert d["X_train"].dtype == np.float64


def test_digits_bad_arguments():
    with pytest.raises(ValueError, match="val_fraction"):
        data.load_digits(val_fraction=0)
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction"):
        data.load_digits(val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(TypeError, match="dtype"):
        data.load_digits(dtype=np.int32)


# ---------------------------------------------------------------- CIFAR-10

def test_cifar10_round_trip(tmp_path):
    written = write_cifar10(tmp_path)
    d = data.load_cifar10(tmp_path, num_validation=3, subtract_mean=False)
    raw = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)])
    labels = np.concatenate([written[f"data_batch_{i}"][1] for i in range(1, 6)])
    assert d["X_train"].shape == (17, 3, 32, 32)
    assert d["X_val"].shape == (3, 3, 32, 32)
    assert d["X_test"].shape == (3, 3, 32, 32)
    # NCHW: channel c, row h, column w is byte c*1024 + h*32 + w of the row.
    n, c, h, w = 5, 2, 7, 30
    assert d["X_train"][n, c, h, w] == np.float32(raw[n, c * 1024 + h * 32 + w] / 255.0)
    np.testing.assert_allclose(d["X_val"].reshape(3, -1), raw[17:] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d["y_train"], labels[:17])
    np.testing.assert_array_equal(d["y_val"], labels[17:])
    np.testing.assert_array_equal(d["y_test"], written["test_batch"][1])
    assert d["class_names"] == [f"class{i}" for i in range(10)]


def test_cifar10_subtracts_the_training_mean_and_finds_the_nested_folder(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py", meta=False)
    d = data.load_cifar10(tmp_path, num_validation=2, dtype=np.float64)
    np.testing.assert_allclose(d["X_train"].mean(axis=0), 0, atol=1e-12)
    assert d["mean_image"].shape == (3, 32, 32)
    assert d["class_names"] == data.CIFAR10_CLASSES


def test_cifar10_missing_files_say_what_and_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.load_cifar10(tmp_path)
    message = str(info.value)
    for name in ["data_batch_1", "data_batch_5", "test_batch", str(tmp_path),
                 data.CIFAR10_URL]:
        assert name in message
    write_cifar10(tmp_path)
    os.remove(tmp_path / "data_batch_3")
    with pytest.raises(FileNotFoundError, match="missing data_batch_3 in"):
        data.load_cifar10(tmp_path)


def test_cifar10_bad_files_are_clear_errors(tmp_path):
    write_cifar10(tmp_path)
    with open(tmp_path / "data_batch_2", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"data_batch_2: b'data' must be a uint8 array of "
                                         r"shape \(N, 3072\)"):
        data.load_cifar10(tmp_path)
    with open(tmp_path / "data_batch_2", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        data.load_cifar10(tmp_path)
    (tmp_path / "data_batch_2").write_bytes(b"this is not a pickle")
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        data.load_cifar10(tmp_path)


def test_cifar10_refuses_pickles_that_would_run_code(tmp_path):
    write_cifar10(tmp_path)

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": Payload(), b"labels": []}, f)
    with pytest.raises(ValueError, match="refusing to load"):
        data.load_cifar10(tmp_path)


# ---------------------------------------------------------------- MNIST

@pytest.mark.parametrize("compress", [False, True])
def test_mnist_round_trip(tmp_path, compress):
    arrays = write_mnist(tmp_path, compress=compress)
    d = data.load_mnist(tmp_path, num_validation=2, subtract_mean=False)
    assert d["X_train"].shape == (5, 1, 28, 28)
    assert d["X_val"].shape == (2, 1, 28, 28)
    assert d["X_test"].shape == (4, 1, 28, 28)
    np.testing.assert_allclose(d["X_train"][:, 0], arrays["train-images-idx3-ubyte"][:5] / 255,
                               rtol=1e-6)
    np.testing.assert_allclose(d["X_test"][:, 0], arrays["t10k-images-idx3-ubyte"] / 255,
                               rtol=1e-6)
    np.testing.assert_array_equal(d["y_val"], arrays["train-labels-idx1-ubyte"][5:])
    np.testing.assert_array_equal(d["y_test"], arrays["t10k-labels-idx1-ubyte"])
    assert d["y_train"].dtype == np.int64


def test_mnist_missing_files_say_what_and_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist(tmp_path)
    message = str(info.value)
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", ".gz", str(tmp_path),
                 data.MNIST_URL]:
        assert name in message


def test_mnist_corrupted_magic_number(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    raw = bytearray(path.read_bytes())
    raw[3] = 0x01  # a labels magic number on an images file
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"magic number 0x00000801, expected 0x00000803"):
        data.load_mnist(tmp_path, num_validation=2)


def test_mnist_truncated_file_and_count_mismatch(tmp_path):
    arrays = write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="the header says 7 x 28 x 28"):
        data.load_mnist(tmp_path, num_validation=2)
    write_idx(path, arrays["train-images-idx3-ubyte"][:6])
    with pytest.raises(ValueError, match="6 images but 7 labels"):
        data.load_mnist(tmp_path, num_validation=2)
    write_idx(path, arrays["train-images-idx3-ubyte"])
    with pytest.raises(ValueError, match="num_validation must be smaller"):
        data.load_mnist(tmp_path, num_validation=7)


# ---------------------------------------------------------------- augmentation

def test_random_translate_moves_each_image_and_fills_with_black():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.1, 1.0, size=(40, 2, 5, 6))
    mean = raw.mean(axis=0)
    out = data.random_translate(raw - mean, np.random.default_rng(1), max_shift=2,
                                mean_image=mean) + mean
    assert out.shape == raw.shape
    shifts = set()
    for n in range(len(raw)):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.allclose(out[n], _shifted(raw[n], dy, dx))]
        assert len(found) == 1, n  # every output is exactly one shift of its input
        shifts.add(found[0])
    assert len(shifts) > 10  # shifts are drawn per image
    same = data.random_translate(raw, np.random.default_rng(1), max_shift=2)
    np.testing.assert_allclose(same, out, atol=1e-12)  # mean_image=None: raw pixels
    np.testing.assert_array_equal(data.random_translate(raw, rng, max_shift=0), raw)


def _shifted(image, dy, dx):
    """Reference: image moved down by dy and right by dx, zeros shifted in."""
    C, H, W = image.shape
    out = np.zeros_like(image)
    out[:, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        image[:, max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out


def test_random_translate_keeps_dtype_and_checks_arguments():
    X = np.ones((3, 1, 8, 8), dtype=np.float32)
    assert data.random_translate(X, np.random.default_rng(0)).dtype == np.float32
    with pytest.raises(ValueError, match="max_shift must be smaller than the image size 8x8"):
        data.random_translate(X, np.random.default_rng(0), max_shift=8)
    with pytest.raises(ValueError, match=r"mean_image must have the shape of one image"):
        data.random_translate(X, np.random.default_rng(0), mean_image=np.zeros((8, 8)))
