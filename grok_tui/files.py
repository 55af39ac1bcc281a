"""Reading and writing files that someone else may have prepared (DESIGN.md rule 6).

Presets, sweep files and run directories are shared between people, so every file the
tool reads or writes through here is treated as untrusted: only regular files are
read (a FIFO, a device or /dev/zero would hang or exhaust memory), never more than a
size cap, and never through a symbolic link (``O_NOFOLLOW``); a file is written only
as a regular file of its own (an append never goes through a planted link, a rewrite
goes to a fresh temporary file created with ``O_EXCL`` and renamed over the old one).
Torch-free: the TUI reads runs through here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

KiB, MiB = 1024, 1024 * 1024
MAX_TOML_BYTES = 1 * MiB  # presets and sweep files: a few KiB in practice
MAX_JSON_BYTES = 4 * MiB  # summary.json, sweep.json
MAX_NOTE_BYTES = 64 * KiB
MAX_METRICS_BYTES = 512 * MiB  # one line per evaluation: millions of records
MAX_CHECKPOINT_BYTES = 4096 * MiB

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafeFileError(OSError):
    """A file that is not a regular file of its own: a link, a FIFO, a device, too large."""


def describe_os_error(exc: OSError) -> str:
    """'no space left on device (ENOSPC)': what failed, in words and by its errno name."""
    code = errno.errorcode.get(exc.errno or 0, "")
    text = (exc.strerror or str(exc)).rstrip(".").lower()
    return f"{text} ({code})" if code else text


def open_regular(path: Path, flags: int) -> int:
    """Open without following a final link or blocking on a FIFO; refuse all but a regular file."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW on a symbolic link
            raise UnsafeFileError(
                errno.ELOOP, "is a symbolic link, not followed", str(path)
            ) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError(errno.EINVAL, "is not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    if _NONBLOCK:
        with contextlib.suppress(OSError):
            os.set_blocking(fd, True)
    return fd


def read_bytes(path: str | Path, limit: int) -> bytes:
    """The content of a regular file of at most ``limit`` bytes (OSError otherwise)."""
    path = Path(path)
    fd = open_regular(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise UnsafeFileError(errno.EFBIG, f"is {size:,} bytes, more than {limit:,}", str(path))
        data = f.read(limit + 1)
    if len(data) > limit:  # grew while being read
        raise UnsafeFileError(errno.EFBIG, f"is more than {limit:,} bytes", str(path))
    return data


def read_text(path: str | Path, limit: int) -> str:
    """A regular UTF-8 text file of at most ``limit`` bytes (OSError / UnicodeDecodeError)."""
    return read_bytes(path, limit).decode("utf-8")


def read_from(path: str | Path, offset: int, limit: int) -> bytes:
    """What a regular file holds past ``offset`` (at most ``limit`` bytes): follow a log."""
    fd = open_regular(Path(path), os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        f.seek(offset)
        return f.read(limit)


def is_regular(path: str | Path) -> bool:
    """True for a regular file that is not a symbolic link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def is_real_dir(path: str | Path) -> bool:
    """True for a directory that is not a symbolic link."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def open_append(path: str | Path) -> int:
    """A descriptor that appends to a regular file (created if missing), never through a link."""
    return open_regular(Path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def open_fresh(path: str | Path) -> int:
    """A descriptor on a new, empty regular file at ``path`` (whatever was there, a file
    or a planted link, is removed first, never written through)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: str | Path, data: bytes | memoryview) -> None:
    """Write a new file beside ``path`` and rename it over: readers never see half a file,
    a link at ``path`` is replaced (never written through), a failure leaves the old file
    and no temporary one."""
    path = Path(path)
    tmp = temp_path(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a leftover of an earlier process with our pid, or a planted link
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # say which file it was
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))
