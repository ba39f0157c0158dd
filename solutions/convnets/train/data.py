"""Image classification data sets as NCHW arrays, ready for :class:`convnets.Solver`.

Three loaders, all returning the same kind of dict::

    {'X_train': (N_train, C, H, W) float, 'y_train': (N_train,) int64,
     'X_val':   (N_val, C, H, W) float,   'y_val':   (N_val,) int64,
     'X_test':  (N_test, C, H, W) float,  'y_test':  (N_test,) int64,
     'mean_image': (C, H, W) float (zeros if no mean was subtracted),
     'class_names': list of str}

- :func:`load_digits`: the 1,797 real 8x8 handwritten digits that ship with
  scikit-learn. Nothing to download; this is the course's default data set.
- :func:`load_cifar10`: CIFAR-10 from the official "python version" pickle batches.
- :func:`load_mnist`: MNIST from the official IDX files (plain or ``.gz``).

Pixels are scaled to [0, 1] and, by default, the mean image of the *training* split is
subtracted from every split (the validation and test images are never looked at to
compute it). Nothing is ever downloaded: when the files are missing the loaders raise
``FileNotFoundError`` naming the files, the folder searched and where to get them.

:func:`random_translate` is a data augmentation for :class:`convnets.Solver`'s
``augment`` argument: every training image shifted by a pixel or so, so that the
network sees slightly different digits at every epoch.

This module needs scikit-learn only for :func:`load_digits` (imported inside it).
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

from ..checks import check_array, check_int

__all__ = ["load_digits", "load_cifar10", "load_mnist", "random_translate",
           "CIFAR10_URL", "MNIST_URL", "MNIST_MIRROR_URL", "CIFAR10_CLASSES"]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MNIST_URL = "http://yann.lecun.com/exdb/mnist/"
MNIST_MIRROR_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
CIFAR10_TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR10_TEST_FILE = "test_batch"

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# IDX magic numbers: two zero bytes, the type code (0x08 = unsigned byte), the number of
# dimensions (3 for images N x rows x cols, 1 for labels).
MNIST_IMAGES_MAGIC = 0x00000803
MNIST_LABELS_MAGIC = 0x00000801


# --------------------------------------------------------------------------------------
# Shared finishing step
# --------------------------------------------------------------------------------------

def _finish(splits: dict, subtract_mean: bool, dtype, class_names) -> dict:
    """Scale is already done; cast, subtract the training mean image, add metadata."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"dtype must be a floating-point type, got {dtype}")
    out = {}
    for part in ("train", "val", "test"):
        out[f"X_{part}"] = np.ascontiguousarray(splits[f"X_{part}"], dtype=dtype)
        out[f"y_{part}"] = np.asarray(splits[f"y_{part}"], dtype=np.int64)
    mean = out["X_train"].mean(axis=0) if subtract_mean else np.zeros(
        out["X_train"].shape[1:], dtype=dtype)
    mean = mean.astype(dtype)
    if subtract_mean:
        for part in ("train", "val", "test"):
            out[f"X_{part}"] -= mean
    out["mean_image"] = mean
    out["class_names"] = list(class_names)
    return out


def _check_fraction(value, name):
    if not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must be a fraction strictly between 0 and 1, got {value!r}")
    return float(value)


# --------------------------------------------------------------------------------------
# Digits (scikit-learn)
# --------------------------------------------------------------------------------------

def load_digits(val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0,
                subtract_mean: bool = True, dtype=np.float32) -> dict:
    """The 1,797 8x8 handwritten digits bundled with scikit-learn, split three ways.

    The images come from the UCI "Optical Recognition of Handwritten Digits" set:
    32x32 bitmaps written by 43 people, reduced to 8x8 blocks holding counts 0..16.
    They are real handwriting and need no network access.

    Parameters
    ----------
    val_fraction, test_fraction : float
        Fractions of the 1,797 images held out for validation and for testing.
        The split is stratified (every class keeps its share in every split).
    seed : int
        Seed of the split; the same seed gives the same split.
    subtract_mean : bool
        Subtract the training split's mean image from every split.
    dtype : floating dtype
        Dtype of the images (float32 by default; float64 for gradient checks).

    Returns
    -------
    dict
        ``X_train`` (N_train, 1, 8, 8), ``y_train`` (N_train,), and the same for ``val``
        and ``test``; pixels are the counts divided by 16, so in [0, 1] before the mean
        is subtracted. ``mean_image`` (1, 8, 8), ``class_names`` '0'..'9'.
        With the defaults: 1,257 / 180 / 360 images.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    val_fraction = _check_fraction(val_fraction, "val_fraction")
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got "
                         f"{val_fraction} + {test_fraction} = {val_fraction + test_fraction}")
    seed = check_int(seed, "seed", minimum=0)

    digits = sklearn_digits()
    X = digits.images.astype(np.float64)[:, None, :, :] / 16.0   # (1797, 1, 8, 8)
    y = digits.target.astype(np.int64)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=test_fraction, stratify=y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_fraction / (1 - test_fraction), stratify=y_rest,
        random_state=seed + 1)
    splits = dict(X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
                  X_test=X_test, y_test=y_test)
    return _finish(splits, subtract_mean, dtype, [str(i) for i in range(10)])


# --------------------------------------------------------------------------------------
# CIFAR-10 (python version)
# --------------------------------------------------------------------------------------

class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickle plain containers and NumPy arrays only.

    The CIFAR-10 batches are pickles, and unpickling an arbitrary file can run arbitrary
    code. The batches only need dicts, lists, bytes, ints and NumPy arrays, so every
    other global is refused (a file that tries gets a ``ValueError``).
    """

    _ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how protocol-2 pickles store raw bytes
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a CIFAR-10 batch only holds arrays, "
            f"lists and numbers")


def _cifar_folder(root) -> Path:
    root = Path(root)
    nested = root / "cifar-10-batches-py"
    if not (root / CIFAR10_TEST_FILE).exists() and nested.is_dir():
        return nested
    return root


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    try:
        with open(path, "rb") as f:
            batch = _ArrayOnlyUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(f"{path} is not a CIFAR-10 python batch ({err})") from err
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"{path} is not a CIFAR-10 python batch: expected a dict with "
                         f"keys b'data' and b'labels', got {keys}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: b'data' must be a uint8 array of shape (N, 3072), got "
                         f"dtype {data.dtype} and shape {data.shape}")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{path}: {data.shape[0]} images but labels of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be in 0..9, got values from "
                         f"{labels.min()} to {labels.max()}")
    # Each row holds the 1024 red values, then green, then blue, each row-major: NCHW.
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(root, num_validation: int = 1000, subtract_mean: bool = True,
                 dtype=np.float32) -> dict:
    """CIFAR-10 from the official "python version" batches in a local folder.

    Parameters
    ----------
    root : str or Path
        The folder holding ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``
        (the ``cifar-10-batches-py`` folder of the archive, or the folder containing it).
    num_validation : int
        Images taken from the end of the training batches as the validation split
        (CS231n's convention: 49,000 train / 1,000 val).
    subtract_mean : bool
        Subtract the training split's mean image from every split.
    dtype : floating dtype

    Returns
    -------
    dict
        ``X_train`` (N_train, 3, 32, 32), ... as described in the module docstring;
        pixels are divided by 255 before the mean is subtracted. ``class_names`` come
        from ``batches.meta`` when it is present.

    Raises
    ------
    FileNotFoundError
        When a batch file is missing: the message lists the expected files, the folder
        and the download address. Nothing is downloaded.
    ValueError
        When a file is not a CIFAR-10 batch.
    """
    folder = _cifar_folder(root)
    expected = CIFAR10_TRAIN_FILES + [CIFAR10_TEST_FILE]
    missing = [name for name in expected if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 not found: missing {', '.join(missing)} in {folder.resolve()}. "
            f"Expected the official python version's files {', '.join(expected)} in that "
            f"folder. Download {CIFAR10_URL} (about 163 MB), then run "
            f"`tar -xzf cifar-10-python.tar.gz` and pass the extracted "
            f"cifar-10-batches-py folder. (Nothing is downloaded automatically.)")
    parts = [_read_cifar_batch(folder / name) for name in CIFAR10_TRAIN_FILES]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    X_test, y_test = _read_cifar_batch(folder / CIFAR10_TEST_FILE)
    num_validation = check_int(num_validation, "num_validation", minimum=1)
    if num_validation >= len(X):
        raise ValueError(f"num_validation must be smaller than the {len(X)} training "
                         f"images, got {num_validation}")
    n = len(X) - num_validation
    splits = dict(X_train=X[:n] / 255.0, y_train=y[:n], X_val=X[n:] / 255.0, y_val=y[n:],
                  X_test=X_test / 255.0, y_test=y_test)
    names = CIFAR10_CLASSES
    meta = folder / "batches.meta"
    if meta.is_file():
        with open(meta, "rb") as f:
            info = _ArrayOnlyUnpickler(f, encoding="bytes").load()
        raw = info.get(b"label_names") if isinstance(info, dict) else None
        if raw:
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in raw]
    return _finish(splits, subtract_mean, dtype, names)


# --------------------------------------------------------------------------------------
# MNIST (IDX files)
# --------------------------------------------------------------------------------------

def _open_idx(folder: Path, name: str):
    """The path of an IDX file, plain or gzipped, or None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes: big-endian magic, ``ndim`` sizes, then data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path} could not be read as an IDX file ({err})") from err
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise ValueError(f"{path} is too short ({len(raw)} bytes) to be an IDX file with "
                         f"{ndim} dimension(s): its header alone is {header} bytes")
    found = struct.unpack(">I", raw[:4])[0]
    if found != magic:
        raise ValueError(f"{path} has magic number 0x{found:08X}, expected 0x{magic:08X} "
                         f"(an IDX file of unsigned bytes with {ndim} dimension(s)); "
                         f"is it the right file, and not corrupted?")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(dims))
    if len(raw) - header != count:
        raise ValueError(f"{path}: the header says {' x '.join(map(str, dims))} = {count} "
                         f"bytes of data but the file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist(root, num_validation: int = 5000, subtract_mean: bool = True,
               dtype=np.float32) -> dict:
    """MNIST from the official IDX files in a local folder.

    Parameters
    ----------
    root : str or Path
        Folder with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each either plain
        or gzipped (the same names with ``.gz``, as distributed).
    num_validation : int
        Images taken from the end of the training file as the validation split.
    subtract_mean : bool
        Subtract the training split's mean image from every split.
    dtype : floating dtype

    Returns
    -------
    dict
        ``X_train`` (N_train, 1, 28, 28), ... as described in the module docstring;
        pixels are divided by 255 before the mean is subtracted.

    Raises
    ------
    FileNotFoundError
        When a file is missing: the message lists the expected files, the folder and
        where to get them. Nothing is downloaded.
    ValueError
        On a wrong magic number, a truncated file, labels outside 0..9, or image and
        label counts that differ.
    """
    folder = Path(root)
    paths = {key: _open_idx(folder, name) for key, name in MNIST_FILES.items()}
    missing = [MNIST_FILES[key] for key, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(
            f"MNIST not found: missing {', '.join(missing)} (or the same names with .gz) "
            f"in {folder.resolve()}. Expected the four official IDX files "
            f"{', '.join(MNIST_FILES.values())}, plain or gzipped, in that folder. Get "
            f"them from {MNIST_URL} or the mirror {MNIST_MIRROR_URL} (same files). "
            f"(Nothing is downloaded automatically.)")
    arrays = {}
    for part in ("train", "test"):
        images = _read_idx(paths[f"{part}_images"], MNIST_IMAGES_MAGIC, 3)
        labels = _read_idx(paths[f"{part}_labels"], MNIST_LABELS_MAGIC, 1)
        if len(images) != len(labels):
            raise ValueError(f"MNIST {part}: {len(images)} images but {len(labels)} labels "
                             f"({paths[f'{part}_images']}, {paths[f'{part}_labels']})")
        if labels.size and labels.max() > 9:
            raise ValueError(f"MNIST {part}: labels must be in 0..9, got a {labels.max()} "
                             f"in {paths[f'{part}_labels']}")
        arrays[part] = (images[:, None, :, :] / 255.0, labels.astype(np.int64))
    X, y = arrays["train"]
    num_validation = check_int(num_validation, "num_validation", minimum=1)
    if num_validation >= len(X):
        raise ValueError(f"num_validation must be smaller than the {len(X)} training "
                         f"images, got {num_validation}")
    n = len(X) - num_validation
    splits = dict(X_train=X[:n], y_train=y[:n], X_val=X[n:], y_val=y[n:],
                  X_test=arrays["test"][0], y_test=arrays["test"][1])
    return _finish(splits, subtract_mean, dtype, [str(i) for i in range(10)])


# --------------------------------------------------------------------------------------
# Augmentation
# --------------------------------------------------------------------------------------

def random_translate(X, rng, max_shift: int = 1, mean_image=None) -> np.ndarray:
    """Shift every image by a random whole number of pixels in each direction.

    Each image of the batch gets its own vertical and horizontal shift, drawn uniformly
    from ``-max_shift .. max_shift``. Pixels shifted in from outside the image are black
    (0 in the original pixel scale): with ``mean_image`` given, ``X`` is taken to be
    mean-subtracted, so the new pixels get the value ``0 - mean_image`` and the rest of
    the image is moved unchanged.

    Parameters
    ----------
    X : ndarray, shape (N, C, H, W)
    rng : numpy.random.Generator
    max_shift : int
        Largest shift in pixels (0 returns a copy of ``X``).
    mean_image : ndarray, shape (C, H, W), or None
        The mean subtracted from ``X`` (the loaders return it as ``'mean_image'``).

    Returns
    -------
    ndarray, shape (N, C, H, W), dtype of ``X``

    Examples
    --------
    Use it as the Solver's ``augment`` (the Solver passes its own seeded ``rng``)::

        data = load_digits()
        augment = functools.partial(random_translate, max_shift=1,
                                    mean_image=data['mean_image'])
        Solver(model, data, augment=augment, ...)
    """
    X = check_array(X, "X", 4, "(N, C, H, W)")
    max_shift = check_int(max_shift, "max_shift", minimum=0)
    N, C, H, W = X.shape
    if max_shift >= min(H, W):
        raise ValueError(f"max_shift must be smaller than the image size {H}x{W}, got "
                         f"{max_shift}")
    mean = np.zeros((C, H, W), dtype=X.dtype) if mean_image is None else np.asarray(
        mean_image, dtype=X.dtype)
    if mean.shape != (C, H, W):
        raise ValueError(f"mean_image must have the shape of one image (C, H, W) = "
                         f"{(C, H, W)}, got {mean.shape}")
    p = max_shift
    padded = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=X.dtype)
    padded[:, :, p:p + H, p:p + W] = X + mean
    dy = rng.integers(-p, p + 1, size=N)
    dx = rng.integers(-p, p + 1, size=N)
    # Image n shifted by (dy, dx) reads padded rows p - dy ... p - dy + H - 1.
    rows = (p - dy)[:, None] + np.arange(H)                      # (N, H)
    cols = (p - dx)[:, None] + np.arange(W)                      # (N, W)
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    out = padded[n, c, rows[:, None, :, None], cols[:, None, None, :]]
    return out - mean
