"""The old path ``convnets.data``, kept for lessons, assignments and outside code.

The code is in convnets/train/data.py.
"""

from .train.data import (
    CIFAR10_CLASSES,
    CIFAR10_TEST_FILE,
    CIFAR10_TRAIN_FILES,
    CIFAR10_URL,
    MNIST_FILES,
    MNIST_IMAGES_MAGIC,
    MNIST_LABELS_MAGIC,
    MNIST_MIRROR_URL,
    MNIST_URL,
    load_cifar10,
    load_digits,
    load_mnist,
    random_translate,
)

__all__ = [
    "CIFAR10_CLASSES", "CIFAR10_TEST_FILE", "CIFAR10_TRAIN_FILES", "CIFAR10_URL", "MNIST_FILES",
    "MNIST_IMAGES_MAGIC", "MNIST_LABELS_MAGIC", "MNIST_MIRROR_URL", "MNIST_URL", "load_cifar10",
    "load_digits", "load_mnist", "random_translate",
]
