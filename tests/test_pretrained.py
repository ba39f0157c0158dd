"""The bundled digits network (``convnets.teach.pretrained``) and the script that makes it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the digits need the 'course' extra")

from convnets import fc_to_conv  # noqa: E402
from convnets.data import load_digits  # noqa: E402
from convnets.teach.pretrained import (  # noqa: E402
    DIGITS_NET_CLASSES,
    DIGITS_NET_FILE,
    NO_DIGIT,
    digits_net,
)

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("make_digits_net",
                                                  ROOT / "tools" / "make_digits_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bundled_network_classifies_the_test_digits():
    model, about = digits_net()
    assert DIGITS_NET_FILE.stat().st_size < 200_000
    assert len(DIGITS_NET_CLASSES) == 11 and DIGITS_NET_CLASSES[NO_DIGIT] == "no digit"
    data = load_digits(seed=about["seed"], subtract_mean=False, dtype=np.float64)
    accuracy = np.mean(np.argmax(model.forward(data["X_test"]), axis=1) == data["y_test"])
    assert accuracy == pytest.approx(about["digits_test_acc"], abs=1e-9)
    assert accuracy > 0.9 and about["test_acc"] > 0.9
    # A blank window is "no digit".
    assert np.argmax(model.forward(np.zeros((1, 1, 8, 8)))[0]) == NO_DIGIT


def test_converted_it_finds_a_digit_on_a_blank_page():
    model, about = digits_net()
    data = load_digits(seed=about["seed"], subtract_mean=False, dtype=np.float64)
    index = int(np.flatnonzero(data["y_test"] == 3)[0])
    page = np.zeros((1, 1, 16, 24))
    page[0, :, 6:14, 10:18] = data["X_test"][index]
    scores = fc_to_conv(model).forward(page)[0]                       # (11, 5, 9)
    assert scores.shape == (11, 5, 9)
    best = scores.argmax(axis=0)
    assert best[3, 5] == 3
    assert np.all(best[:, :2] == NO_DIGIT)         # windows 8 or more pixels away


def test_the_training_windows_follow_the_labelling_rule():
    script = load_script()
    rng = np.random.default_rng(0)
    digits = load_digits(seed=0, subtract_mean=False)
    X, y = digits["X_train"][:12], digits["y_train"][:12]
    windows, labels = script.canvas_windows(X, y, rng, copies=1)
    assert windows.shape[1:] == (1, 8, 8) and len(windows) == len(labels)
    assert np.sum(labels == NO_DIGIT) == np.sum(labels != NO_DIGIT)   # balanced
    # Each digit gives 9 windows within two pixels: at least 2 rows and 2 columns of it.
    assert np.sum(labels != NO_DIGIT) == 9 * 12
    for window, label in zip(windows, labels, strict=True):
        if label != NO_DIGIT:
            assert window.sum() > 0                # some ink of the digit is inside
