"""Loading a trained model and preparing it for fine-tuning with `fit`."""

from __future__ import annotations

from pathlib import Path

import keras

# Importing the layers registers them with Keras's serialisation.
import kseq2seq.layers  # noqa: F401
import kseq2seq.training.losses  # noqa: F401


def load_model(path: str | Path, compile: bool = True) -> keras.Model:
    """Loads a `.keras` file saved from a kseq2seq model (FileNotFoundError without one)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No saved model at {str(path)!r}")
    return keras.saving.load_model(path, compile=compile)


def freeze_encoder(model: keras.Model, frozen: bool = True) -> keras.Model:
    """Freezes (or unfreezes) the encoder, embeddings included (shared ones too). Recompile
    the model afterwards: Keras reads `trainable` at compile time."""
    model.get_layer("encoder").trainable = not frozen
    return model
