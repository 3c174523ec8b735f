"""A training callback that draws the attention of fixed sentences as training goes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras

from kseq2seq.checks import check_int
from kseq2seq.visualize.heatmap import plot_attention


def write_image_summary(tag: str, png: bytes, step: int) -> None:
    """Writes one PNG to the default TensorBoard summary writer as an image: the record of
    `tf.summary.image` (width, height, PNG bytes, and the image plugin's metadata) written
    with the core `tf.summary.write`, as `tf.summary.image` needs TensorBoard, which
    TensorFlow 2.21 no longer brings along."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    height, width = tf.shape(tf.image.decode_png(png)).numpy()[:2]
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "images"
    metadata.plugin_data.content = b""  # an ImagePluginData with default fields
    metadata.data_class = summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    tensor = tf.constant([str(width).encode(), str(height).encode(), png])
    tf.summary.write(tag, tensor, step=step, metadata=metadata)


class AttentionPlotCallback(keras.callbacks.Callback):
    """Saves the attention heatmaps of fixed `sentences` (or one string) every `every` epochs.

    Files are `directory/epoch_{n:03d}_{i}.png`, n the epoch counted from 1 (as Keras's
    `ModelCheckpoint` does) and i the sentence's index. With `log_dir`, the same pictures go
    to TensorBoard as images named `attention/sentence_{i}` at step n (under every Keras
    backend: tensorflow is always installed). `targets`, one per sentence, are teacher-forced
    instead of the model's greedy translations.

    Example:
        callback = AttentionPlotCallback(translator, ["Le chat noir."], "plots")
        translator.fit(pairs, epochs=5, callbacks=[callback])
    """

    def __init__(
        self,
        translator,
        sentences: Sequence[str] | str,
        directory: str | os.PathLike,
        log_dir: str | os.PathLike | None = None,
        every: int = 1,
        targets: Sequence[str] | None = None,
    ):
        super().__init__()
        sentences = [sentences] if isinstance(sentences, str) else list(sentences)
        if not sentences or not all(isinstance(s, str) for s in sentences):
            raise ValueError("sentences must be a non-empty list of strings")
        if targets is not None and len(targets) != len(sentences):
            raise ValueError(f"{len(sentences)} sentences but {len(targets)} targets")
        self.every = check_int("every", every)
        self.translator = translator
        self.sentences = sentences
        self.targets = None if targets is None else list(targets)
        self.directory = Path(directory)
        self.log_dir = None if log_dir is None else str(log_dir)
        self.written: list[Path] = []
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if number % self.every:
            return
        results = self.translator.attention(self.sentences, self.targets)
        images = []
        for index, (sentence, result) in enumerate(zip(self.sentences, results)):
            if not result["source_tokens"]:
                continue
            path = self.directory / f"epoch_{number:03d}_{index}.png"
            title = f"epoch {number}: {sentence} → {result['translation']}"
            plot_attention(result, path=path, title=title)
            self.written.append(path)
            images.append((index, path.read_bytes()))
        if images and self.log_dir is not None:
            if self._writer is None:
                import tensorflow as tf

                self._writer = tf.summary.create_file_writer(self.log_dir)
            with self._writer.as_default():
                for index, png in images:
                    write_image_summary(f"attention/sentence_{index}", png, number)
            self._writer.flush()
