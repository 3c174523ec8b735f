"""What the `kseq2seq` command shows: native log lines hidden, one progress line per epoch in logs.

TensorFlow, XLA and CUDA write log lines from C++ straight to file descriptor 2, some before
absl's logging is set up, whatever `TF_CPP_MIN_LOG_LEVEL` says. So `hide_native_logs()` puts a
pipe on descriptor 2 and a thread forwards every line but those.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator

# glog / absl lines: severity, MMDD, time, thread id, file:line]
NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\s:]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    # the second line of cpu_feature_guard's notice
    rb"|To enable the following instructions: .* rebuild TensorFlow with)"
)
# Python loggers that report, at start-up, that no GPU backend was found.
_STARTUP_LOGGERS = ("jax._src.xla_bridge", "absl")


def add_verbose_argument(parser) -> None:
    """`--verbose 0|1|2`, Keras's progress display, the same on every command that trains."""
    parser.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        help="progress: 0 none, 1 a progress bar, 2 one line per epoch (default: 1 on a "
        "terminal, 2 when the output goes to a file or a pipe)",
    )


def progress_verbosity(verbose: int | None, stream=None) -> int:
    """Keras's `verbose` for `fit`: as asked, else a progress bar on a terminal and one line
    per epoch (2) in a file or a pipe, where a redrawn bar makes one enormous line."""
    if verbose is not None:
        return verbose
    isatty = getattr(sys.stdout if stream is None else stream, "isatty", None)
    return 1 if isatty is not None and isatty() else 2


def _forward(read_end: int, terminal: int) -> None:
    pending = b""
    with open(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not NATIVE_LOG_LINE.match(line))
            if kept:
                os.write(terminal, kept)
    if pending and not NATIVE_LOG_LINE.match(pending):
        os.write(terminal, pending)


@contextlib.contextmanager
def hide_native_logs() -> Iterator[None]:
    """Drops the C++ log lines of TensorFlow, XLA and CUDA from descriptor 2 while it runs.

    Only for the command's own process: it swaps file descriptors.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # lines logged after absl starts
    for name in _STARTUP_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        sys.stderr.flush()
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. captured)
        yield
        return
    terminal = os.dup(stderr_fd)
    read_end, write_end = os.pipe()
    forwarder = threading.Thread(target=_forward, args=(read_end, terminal), daemon=True)
    forwarder.start()
    os.dup2(write_end, stderr_fd)
    os.close(write_end)
    python_stderr = sys.stderr
    # Python's writes skip the pipe, so that they are never held back or reordered.
    sys.stderr = open(  # noqa: SIM115 (closed below)
        os.dup(terminal),
        "w",
        buffering=1,
        encoding=python_stderr.encoding,
        errors="backslashreplace",
    )
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(terminal, stderr_fd)  # closes the pipe's last write end: the thread ends
        forwarder.join(timeout=5)
        os.close(terminal)


def show_native_logs() -> None:
    """The opposite, for `--debug`: every log line of TensorFlow's C++ side."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
