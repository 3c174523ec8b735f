"""Losses, metrics and training helpers."""

from kseq2seq.training.averaging import EpochAverage
from kseq2seq.training.callbacks import TrainingCheckpoint, TrainingInterrupted
from kseq2seq.training.distribute import DataParallelEngine
from kseq2seq.training.finetune import freeze_encoder, load_model
from kseq2seq.training.losses import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    compile_model,
)
from kseq2seq.training.nan_guard import StopOnNaN
from kseq2seq.training.optimizers import DenseAdam

__all__ = [
    "DataParallelEngine",
    "DenseAdam",
    "EpochAverage",
    "MaskedAccuracy",
    "MaskedSparseCategoricalCrossentropy",
    "StopOnNaN",
    "TrainingCheckpoint",
    "TrainingInterrupted",
    "compile_model",
    "freeze_encoder",
    "load_model",
]
