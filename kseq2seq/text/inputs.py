"""What the tokenizers accept: texts and ids in their many forms, turned into tensors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import tensorflow as tf

TextsLike = Any  # str | bytes | Sequence[str | bytes] | np.ndarray | tf.Tensor
IdsLike = Any  # tf.Tensor | tf.RaggedTensor | np.ndarray | Sequence


def to_bytes(text: str | bytes, where: str) -> bytes:
    if isinstance(text, str):
        # surrogatepass: lone surrogates become invalid UTF-8, replaced later by U+FFFD.
        return text.encode("utf-8", "surrogatepass")
    if isinstance(text, bytes):
        return text
    raise TypeError(f"{where} must be str or bytes, got {type(text).__name__}")


def text_list(texts, name: str = "texts") -> list[str]:
    """A string or a list (tuple) of strings as a list of strings; bytes are decoded as
    UTF-8 (invalid bytes replaced). Raises TypeError naming `name` otherwise."""
    if isinstance(texts, (str, bytes)):
        texts = [texts]
    elif not isinstance(texts, (list, tuple)):
        raise TypeError(
            f"{name} must be a string or a list of strings. Received: {type(texts).__name__}"
        )
    out = []
    for index, text in enumerate(texts):
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if not isinstance(text, str):
            raise TypeError(f"{name}[{index}] must be a string. Received: {type(text).__name__}")
        out.append(text)
    return out


def texts_to_tensor(texts: TextsLike) -> tuple[tf.Tensor, bool]:
    """Converts the accepted text inputs to a rank-1 tf.string tensor: `(tensor, was_scalar)`."""
    if isinstance(texts, tf.RaggedTensor):
        raise TypeError("texts must be a dense tf.string tensor of rank 0 or 1, got a RaggedTensor")
    if tf.is_tensor(texts):
        if texts.dtype != tf.string:
            raise TypeError(f"texts must be a tf.string tensor, got dtype {texts.dtype.name}")
        rank = texts.shape.rank
        if rank is None:
            raise ValueError("texts must have a statically known rank (0 or 1), got unknown rank")
        if rank not in (0, 1):
            raise ValueError(f"texts must have rank 0 or 1, got rank {rank}")
        return tf.reshape(texts, [-1]), rank == 0
    if isinstance(texts, (str, bytes, np.str_, np.bytes_)):
        return tf.constant([to_bytes(texts, "texts")], dtype=tf.string), True
    if isinstance(texts, np.ndarray):
        if texts.dtype.kind not in "USO":
            raise TypeError(f"texts must be an array of strings, got dtype {texts.dtype}")
        if texts.ndim not in (0, 1):
            raise ValueError(f"texts must have rank 0 or 1, got rank {texts.ndim}")
        return texts_to_tensor(list(texts.reshape(-1)))[0], texts.ndim == 0
    if isinstance(texts, (list, tuple)):
        values = [to_bytes(text, f"texts[{i}]") for i, text in enumerate(texts)]
        return tf.constant(np.array(values, dtype=object), dtype=tf.string), False
    raise TypeError(
        "texts must be a str, bytes, a list of str, or a tf.string tensor of rank 0 or 1, "
        f"got {type(texts).__name__}"
    )


def ids_to_ragged(ids: IdsLike) -> tuple[tf.RaggedTensor, bool]:
    """Converts the accepted id inputs to a rank-2 int64 RaggedTensor (dense padding kept):
    `(ragged, was_rank_1)`."""
    if not tf.is_tensor(ids):
        rows = ids if isinstance(ids, (list, tuple)) else ()
        lengths = {len(row) if isinstance(row, (list, tuple)) else -1 for row in rows}
        if len(lengths) > 1 and max(lengths) >= 0:  # rows of different lengths
            ids = tf.ragged.constant(ids, dtype=tf.int64, ragged_rank=1)
        else:
            array = np.asarray(ids)
            if array.size == 0:
                array = array.astype(np.int64)  # [] and [[]] are float to NumPy
            if array.dtype.kind not in "iu":
                raise TypeError(f"ids must be integers, got {array.dtype} values")
            ids = tf.constant(array, tf.int64)
    if not ids.dtype.is_integer:
        raise TypeError(f"ids must be integers, got dtype {ids.dtype.name}")
    rank = ids.shape.rank
    if rank not in (1, 2):
        raise ValueError(f"ids must have rank 1 or 2, got rank {rank}")
    ids = tf.cast(ids, tf.int64)
    if isinstance(ids, tf.RaggedTensor):
        return ids, False
    return tf.RaggedTensor.from_tensor(ids if rank == 2 else ids[tf.newaxis]), rank == 1


def iter_text_batches(texts: Iterable[Any], batch_size: int) -> Iterator[list[bytes]]:
    """Yields lists of UTF-8 byte strings from an iterable of texts (or a tf.data.Dataset)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            "texts must be an iterable of strings, not a single string; wrap it in a list"
        )
    if isinstance(texts, tf.data.Dataset):
        texts = texts.as_numpy_iterator()
    elif tf.is_tensor(texts) or isinstance(texts, np.ndarray):
        texts = np.asarray(texts).reshape(-1)
    try:
        iterator = iter(texts)
    except TypeError:
        raise TypeError(
            f"texts must be an iterable of strings, got {type(texts).__name__}"
        ) from None
    batch: list[bytes] = []
    for index, text in enumerate(iterator):
        if tf.is_tensor(text):
            text = text.numpy()
        if isinstance(text, np.ndarray):  # batched tf.data elements
            batch.extend(to_bytes(t, f"texts[{index}]") for t in text.reshape(-1).tolist())
        else:
            batch.append(to_bytes(text, f"texts[{index}]"))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
