"""A training callback that draws the attention of fixed sentences as training goes."""

from __future__ import annotations

import importlib.util
import io
import os
from collections.abc import Sequence
from pathlib import Path

import keras

from kseq2seq.visualize._common import pyplot, save_figure
from kseq2seq.visualize.heatmap import plot_attention


def write_image_summary(tag: str, png: bytes, step: int) -> None:
    """Writes one PNG to the default TensorBoard summary writer as an image.

    `tf.summary.image` when TensorBoard is installed. TensorFlow 2.21 no
    longer brings TensorBoard along and `tf.summary.image` then raises, so
    without it the same record is written with the core `tf.summary.write`:
    the image plugin's tensor (width, height, PNG bytes) and metadata.
    """
    import tensorflow as tf

    if importlib.util.find_spec("tensorboard") is not None:
        image = tf.expand_dims(tf.image.decode_png(png, channels=4), 0)
        tf.summary.image(tag, image, step=step)
        return
    from tensorflow.core.framework import summary_pb2

    shape = tf.shape(tf.image.decode_png(png))  # H x W x C
    height, width = int(shape[0]), int(shape[1])
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "images"
    metadata.plugin_data.content = b""  # an ImagePluginData with default fields
    metadata.data_class = summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    tensor = tf.constant([str(width).encode(), str(height).encode(), png])
    tf.summary.write(tag, tensor, step=step, metadata=metadata)


class AttentionPlotCallback(keras.callbacks.Callback):
    """Saves the attention heatmaps of fixed sentences every `every` epochs.

    Files are `directory/epoch_{n:03d}_{i}.png`, n the epoch counted from 1
    (as Keras's `ModelCheckpoint` does) and i the sentence's index. With
    `log_dir`, the same pictures go to TensorBoard as images named
    `attention/sentence_{i}` at step n (tensorflow is always installed, so
    this works under every Keras backend).

    Args:
        translator: the `kseq2seq.Translator` whose model is being trained.
        sentences: the source sentences (or one string).
        directory: where to write the PNG files.
        log_dir: a TensorBoard log directory, or None.
        every: draw every this many epochs.
        targets: targets to teacher-force, one per sentence; by default the
            model's greedy translations.

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
        if isinstance(sentences, str):
            sentences = [sentences]
        sentences = list(sentences)
        if not sentences or not all(isinstance(s, str) for s in sentences):
            raise ValueError("sentences must be a non-empty list of strings")
        if targets is not None and len(targets) != len(sentences):
            raise ValueError(f"{len(sentences)} sentences but {len(targets)} targets")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer. Received: {every!r}")
        self.translator = translator
        self.sentences = sentences
        self.targets = None if targets is None else list(targets)
        self.directory = Path(directory)
        self.log_dir = None if log_dir is None else str(log_dir)
        self.every = every
        self.written: list[Path] = []
        self._writer = None

    def _summary_writer(self):
        if self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)
        return self._writer

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if number % self.every:
            return
        plt = pyplot()
        self.directory.mkdir(parents=True, exist_ok=True)
        results = self.translator.attention(self.sentences, self.targets)
        images = []
        for index, (sentence, result) in enumerate(zip(self.sentences, results)):
            if not result["source_tokens"]:
                continue
            title = f"epoch {number}: {sentence} → {result['translation']}"
            figure = plot_attention(result, title=title)
            path = self.directory / f"epoch_{number:03d}_{index}.png"
            save_figure(figure, path)
            self.written.append(path)
            if self.log_dir is not None:
                buffer = io.BytesIO()
                figure.savefig(buffer, format="png", dpi=100)
                images.append((index, buffer.getvalue()))
            plt.close(figure)
        if images:
            writer = self._summary_writer()
            with writer.as_default():
                for index, png in images:
                    write_image_summary(f"attention/sentence_{index}", png, number)
            writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
