"""Everything the package writes gets the permissions of an ordinary open() / mkdir()."""

import os
import stat

import keras
import numpy as np
import pytest

from kseq2seq.atomic import atomic_directory, atomic_write, current_umask
from kseq2seq.datasets.default_corpus import default_corpus
from kseq2seq.translator import Translator
from kseq2seq.visualize import plot_attention


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


@pytest.fixture(scope="module")
def translator():
    pairs = [(e.source, e.target) for e in default_corpus("train")[:30]]
    return Translator.from_pairs(pairs, embedding_dim=8, units=8)


def _modes(root):
    """{path: permission bits} of `root` and everything under it."""
    modes = {str(root): stat.S_IMODE(os.stat(root).st_mode)}
    for directory, directories, files in os.walk(root):
        for name in directories + files:
            path = os.path.join(directory, name)
            modes[path] = stat.S_IMODE(os.stat(path).st_mode)
    return modes


def _check(root, umask):
    wrong = {}
    for path, mode in _modes(root).items():
        expected = (0o777 if os.path.isdir(path) else 0o666) & ~umask
        if mode != expected:
            wrong[path] = f"{mode:o}, expected {expected:o}"
    assert not wrong


def test_current_umask_reads_it_unchanged(umask):
    assert current_umask() == umask
    assert current_umask() == umask


def test_atomic_directory_follows_the_umask(tmp_path, umask):
    with atomic_directory(tmp_path / "out") as staging:
        (staging / "file.txt").write_text("x")
    _check(tmp_path / "out", umask)


def test_saved_translator_follows_the_umask(tmp_path, umask, translator):
    translator.save(tmp_path / "saved")
    _check(tmp_path / "saved", umask)


def test_pictures_follow_the_umask(tmp_path, umask):
    plot_attention(
        np.full((2, 3), 1 / 3, "float32"),
        ["a", "b", "c"],
        ["x", "</s>"],
        path=tmp_path / "figure.png",
    )
    atomic_write(tmp_path / "page.html", lambda temporary: open(temporary, "w").close())
    _check(tmp_path / "figure.png", umask)
    _check(tmp_path / "page.html", umask)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="export needs TensorFlow")
def test_exported_saved_model_follows_the_umask(tmp_path, translator):
    previous = os.umask(0o027)
    try:
        translator.export(tmp_path / "exported", max_length=8)
    finally:
        os.umask(previous)
    _check(tmp_path / "exported", 0o027)
