"""Writing files and directories so that a failure leaves the previous version intact.

`atomic_directory` swaps its staging directory in with one `renameat2(RENAME_EXCHANGE)` on
Linux; elsewhere the old version is first renamed aside (`.NAME.old-XXXX`), and
`recover_directory` puts it back if the process died between the two renames.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swaps two existing paths atomically; False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not glibc >= 2.28
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p] * 2 + [ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE):
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            return False  # e.g. a file system without RENAME_EXCHANGE
        raise OSError(code, os.strerror(code), str(second))
    return True


def atomic_write(path: str | os.PathLike, content: str | bytes | Callable[[str], Any]) -> Path:
    """Writes `path` (and its directory) through a temporary file renamed into place.

    Args:
        content: the text (written as UTF-8), the bytes, or a callable
            `write(temporary_path)` that writes the file itself (a figure's `savefig`, say).

    Returns:
        `path`, as a `Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        follow_umask(temporary)
        if callable(content):
            os.close(handle)
            content(temporary)
        else:
            data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(handle)
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    return path


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:  # Linux >= 4.7
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere, set and put back at once
    os.umask(mask)
    return mask


def follow_umask(path: str | os.PathLike) -> None:
    """Gives `path` the permissions that `open()` or `mkdir()` would have given it.

    `tempfile` makes private entries (0700, 0600) whatever the umask, which a staging entry
    renamed into place would keep.
    """
    base = 0o777 if os.path.isdir(path) else 0o666
    os.chmod(path, base & ~current_umask())


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        pass
    return True


def recover_directory(directory: str | os.PathLike) -> None:
    """Puts back the newest `.NAME.old-*` if a save killed midway left no `directory`."""
    directory = Path(directory)
    if directory.exists() or not directory.parent.is_dir():
        return
    olds = sorted(
        directory.parent.glob(f".{directory.name}.old-*"), key=lambda path: path.stat().st_mtime
    )
    if olds:
        os.replace(olds[-1], directory)


def _remove_leftovers(directory: Path) -> None:
    """Deletes staging directories of dead processes and old versions already replaced."""
    for staging in directory.parent.glob(f".{directory.name}.staging-*"):
        pid = staging.name[len(f".{directory.name}.staging-") :].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)
    if directory.exists():
        for old in directory.parent.glob(f".{directory.name}.old-*"):
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(directory: str | os.PathLike) -> Iterator[Path]:
    """Yields a staging directory beside `directory`, put in its place on success.

    If the block raises, the staging directory is removed and `directory` is unchanged.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(directory)
    _remove_leftovers(directory)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{directory.name}.staging-{os.getpid()}-", dir=directory.parent)
    )
    try:
        follow_umask(staging)
        yield staging
        if directory.exists() and not directory.is_dir():
            raise FileExistsError(f"{str(directory)!r} exists and is not a directory")
        if directory.exists() and _exchange(staging, directory):
            shutil.rmtree(staging, ignore_errors=True)  # now the old version
            return
        old = None
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
            os.rmdir(old)
            os.replace(directory, old)
        try:
            os.replace(staging, directory)
        except BaseException:
            if old is not None:
                os.replace(old, directory)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
