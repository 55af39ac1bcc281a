"""The one door for every file under a run, sweep, queue or export folder (DESIGN.md rule 6).

Presets, sweep files and run directories are shared between people, so every file the
tool reads or writes is treated as untrusted. A ``Folder`` is a directory opened once;
every open, write, append, rename, mkdir, listing and delete below it is made relative
to that descriptor (``openat``-style), one path component at a time with
``O_NOFOLLOW``: a link planted anywhere below it, or the folder being renamed or
swapped for another while a process works in it, can never redirect a read or a write.
Only regular files are read (a FIFO, a device or /dev/zero would hang or exhaust
memory), never more than a size cap. A rewrite goes to a fresh temporary file created
with ``O_EXCL`` and renamed over the old one (readers never see half a file; a link or
a hard link at the name is replaced, never written through); an append to a file that
has another hard link (a ``cp -al`` copy of a run) first gives the file a copy of its
own. The folder a user names (the runs folder, an export folder) may itself be reached
through links the user made; nothing the tool finds below it is followed.

The path-level functions (``read_text(path)``, ``write_atomic(path)``, ...) open the
parent as a ``Folder`` for the one call. Torch-free: the TUI reads runs through here.
tests/unit/test_door.py fails when a product module opens, writes or deletes a file
any other way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

KiB, MiB = 1024, 1024 * 1024
MAX_TOML_BYTES = 1 * MiB  # presets and sweep files: a few KiB in practice
MAX_JSON_BYTES = 4 * MiB  # summary.json, sweep.json
MAX_NOTE_BYTES = 64 * KiB
MAX_METRICS_BYTES = 512 * MiB  # one line per evaluation: millions of records
MAX_CHECKPOINT_BYTES = 4096 * MiB
MAX_TREE_DEPTH = 32  # rmtree below a folder: the tool makes at most three levels

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC


class UnsafeFileError(OSError):
    """A file that is not a regular file of its own: a link, a FIFO, a device, too large."""


def describe_os_error(exc: OSError) -> str:
    """'no space left on device (ENOSPC)': what failed, in words and by its errno name."""
    code = errno.errorcode.get(exc.errno or 0, "")
    text = (exc.strerror or str(exc)).rstrip(".").lower()
    return f"{text} ({code})" if code else text


def _parts(relative: str | Path) -> list[str]:
    """The components of a path below a folder; '..', absolute paths and '' are refused."""
    text = os.fspath(relative)
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or any(p == ".." for p in parts):
        raise UnsafeFileError(errno.EINVAL, "leads out of its folder", text)
    return parts


def _link_error(exc: OSError, where: str) -> OSError:
    """O_NOFOLLOW on a link gives ELOOP (a file) or ENOTDIR (O_DIRECTORY): say it plainly."""
    if exc.errno == errno.ELOOP:
        return UnsafeFileError(errno.ELOOP, "is a symbolic link, not followed", where)
    return OSError(exc.errno, exc.strerror, where)


class Folder:
    """A directory opened once: everything below it is reached relative to its descriptor,
    one component at a time, never through a link."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def at(cls, path: str | Path) -> Folder:
        """The folder at ``path``. Its own name must not be a link (a planted run or sweep
        folder); the folders above it are the user's and are taken as they are."""
        path = Path(path)
        try:
            fd = os.open(path, _DIR_FLAGS)
        except OSError as exc:
            if exc.errno == errno.ENOTDIR and os.path.islink(path):
                raise UnsafeFileError(
                    errno.ELOOP, "is a symbolic link, not followed", str(path)
                ) from None
            raise _link_error(exc, str(path)) from None
        return cls(fd, path)

    @classmethod
    def root(cls, path: str | Path, *, create: bool = False) -> Folder:
        """A folder the user named (``--runs-dir``, ``export DIR``): it may be a link the
        user made; nothing below it is followed."""
        path = Path(path)
        if create:
            path.mkdir(parents=True, exist_ok=True)  # door: the user's own folder
        try:
            fd = os.open(path, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        return cls(fd, path)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- walking ------------------------------------------------------------------------
    def _walk(self, parts: list[str], *, create: bool = False) -> int:
        """A new descriptor on the folder ``parts`` names below this one (caller closes)."""
        fd = os.dup(self.fd)
        try:
            for i, part in enumerate(parts):
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=fd)
                try:
                    nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    where = str(self.path.joinpath(*parts[: i + 1]))
                    if exc.errno == errno.ENOTDIR and self._is_link(fd, part):
                        raise UnsafeFileError(
                            errno.ELOOP, "is a symbolic link, not followed", where
                        ) from None
                    raise _link_error(exc, where) from None
                os.close(fd)
                fd = nxt
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def _is_link(dir_fd: int, name: str) -> bool:
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except OSError:
            return False

    def _split(self, relative: str | Path) -> tuple[list[str], str]:
        parts = _parts(relative)
        if not parts:
            raise UnsafeFileError(errno.EINVAL, "names no file", str(self.path))
        return parts[:-1], parts[-1]

    def sub(self, relative: str | Path, *, create: bool = False) -> Folder:
        """The folder ``relative`` names below this one, as a Folder of its own."""
        parts = _parts(relative)
        return Folder(self._walk(parts, create=create), self.path.joinpath(*parts))

    def _where(self, relative: str | Path) -> str:
        return str(self.path / os.fspath(relative))

    # -- reading ------------------------------------------------------------------------
    def open_regular(self, relative: str | Path, flags: int, *, mode: int = 0o644) -> int:
        """A descriptor on a regular file below this folder (never a link, never blocking
        on a FIFO); the caller closes it."""
        dirs, name = self._split(relative)
        parent = self._walk(dirs)
        try:
            try:
                fd = os.open(name, flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, mode, dir_fd=parent)
            except OSError as exc:
                raise _link_error(exc, self._where(relative)) from None
        finally:
            os.close(parent)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnsafeFileError(errno.EINVAL, "is not a regular file", self._where(relative))
        except BaseException:
            os.close(fd)
            raise
        if _NONBLOCK:
            with contextlib.suppress(OSError):
                os.set_blocking(fd, True)
        return fd

    def read_bytes(self, relative: str | Path, limit: int) -> bytes:
        """The content of a regular file of at most ``limit`` bytes (OSError otherwise)."""
        fd = self.open_regular(relative, os.O_RDONLY)
        with os.fdopen(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise UnsafeFileError(
                    errno.EFBIG, f"is {size:,} bytes, more than {limit:,}", self._where(relative)
                )
            data = f.read(limit + 1)
        if len(data) > limit:  # grew while being read
            raise UnsafeFileError(
                errno.EFBIG, f"is more than {limit:,} bytes", self._where(relative)
            )
        return data

    def read_text(self, relative: str | Path, limit: int) -> str:
        return self.read_bytes(relative, limit).decode("utf-8")

    def read_from(self, relative: str | Path, offset: int, limit: int) -> bytes:
        """What a regular file holds past ``offset`` (at most ``limit`` bytes): follow a log."""
        fd = self.open_regular(relative, os.O_RDONLY)
        with os.fdopen(fd, "rb") as f:
            f.seek(offset)
            return f.read(limit)

    def lstat(self, relative: str | Path) -> os.stat_result:
        """The entry itself (a link is reported as a link, not followed)."""
        dirs, name = self._split(relative)
        parent = self._walk(dirs)
        try:
            return os.stat(name, dir_fd=parent, follow_symlinks=False)
        finally:
            os.close(parent)

    def is_dir(self, relative: str | Path) -> bool:
        try:
            return stat.S_ISDIR(self.lstat(relative).st_mode)
        except OSError:
            return False

    def names(self, relative: str | Path = ".") -> list[str]:
        """The names in a folder below this one, sorted ([] when it cannot be read)."""
        try:
            fd = self._walk(_parts(relative))
        except OSError:
            return []
        try:
            return sorted(os.listdir(fd))
        except OSError:
            return []
        finally:
            os.close(fd)

    # -- writing ------------------------------------------------------------------------
    def mkdir(self, relative: str | Path) -> None:
        """Make the folders ``relative`` names (those already there are kept)."""
        os.close(self._walk(_parts(relative), create=True))

    def make_new_dir(self, name: str) -> None:
        """Make one new folder; FileExistsError when the name is taken (two processes
        picked the same run id)."""
        dirs, leaf = self._split(name)
        parent = self._walk(dirs)
        try:
            os.mkdir(leaf, 0o755, dir_fd=parent)
        finally:
            os.close(parent)

    def write_atomic(self, relative: str | Path, data: bytes | memoryview) -> None:
        """Write a new file beside the name and rename it over: readers never see half a
        file, a link or a hard link at the name is replaced (never written through), a
        failure leaves the old file and no temporary one."""
        dirs, name = self._split(relative)
        parent = self._walk(dirs)
        tmp = f".{name}.{os.getpid()}.tmp"
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=parent)  # a leftover of ours, or a planted link
            fd = os.open(
                tmp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                0o644,
                dir_fd=parent,
            )
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=parent)
                raise
        except OSError as exc:
            if exc.filename is None or not isinstance(exc, UnsafeFileError):
                raise OSError(exc.errno, exc.strerror, self._where(relative)) from None
            raise
        finally:
            os.close(parent)

    def write_text(self, relative: str | Path, text: str) -> None:
        self.write_atomic(relative, text.encode("utf-8"))

    def open_append(self, relative: str | Path) -> int:
        """A descriptor that appends to a regular file of this folder's own (created if
        missing). A file with another hard link (a copy made with ``cp -al``) is first
        given a copy of its own, so that the other name keeps what it had."""
        fd = self.open_regular(relative, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            if os.fstat(fd).st_nlink <= 1:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        self.write_atomic(relative, self.read_bytes(relative, MAX_METRICS_BYTES))
        return self.open_regular(relative, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def open_fresh(self, relative: str | Path) -> int:
        """A descriptor on a new, empty regular file (whatever was there, a file or a
        planted link, is removed first, never written through)."""
        dirs, name = self._split(relative)
        parent = self._walk(dirs)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=parent)
            return os.open(
                name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                0o644,
                dir_fd=parent,
            )
        finally:
            os.close(parent)

    def rename(self, relative: str | Path, new_name: str) -> None:
        """Rename an entry within its own folder (a file kept aside, a run's log)."""
        dirs, name = self._split(relative)
        _parts(new_name)
        parent = self._walk(dirs)
        try:
            os.rename(name, new_name, src_dir_fd=parent, dst_dir_fd=parent)
        finally:
            os.close(parent)

    # -- deleting -----------------------------------------------------------------------
    def unlink(self, relative: str | Path, *, missing_ok: bool = True) -> None:
        """Remove a file or a link (a link is removed, never what it points to)."""
        self._remove(relative, missing_ok, tree=False)

    def rmtree(self, relative: str | Path, *, missing_ok: bool = True) -> None:
        """Remove a folder below this one and all it holds; a link inside is removed as a
        link, never followed."""
        self._remove(relative, missing_ok, tree=True)

    def _remove(self, relative: str | Path, missing_ok: bool, *, tree: bool) -> None:
        dirs, name = self._split(relative)
        try:
            parent = self._walk(dirs)
        except FileNotFoundError:
            if missing_ok:
                return
            raise
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if tree and stat.S_ISDIR(info.st_mode):
                _rmtree_fd(parent, name, 0)
            else:
                os.unlink(name, dir_fd=parent)
        except FileNotFoundError:
            if not missing_ok:
                raise
        finally:
            os.close(parent)

    def clear(self) -> None:
        """Remove everything inside this folder, keeping the folder."""
        for name in self.names():
            self.rmtree(name)


def _rmtree_fd(parent: int, name: str, depth: int) -> None:
    if depth > MAX_TREE_DEPTH:
        raise OSError(errno.ELOOP, "is nested too deeply to remove", name)
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    try:
        for entry in os.listdir(fd):
            info = os.stat(entry, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                _rmtree_fd(fd, entry, depth + 1)
            else:
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


# -- folders a process owns --------------------------------------------------------------
# A trainer that locked its run directory holds it open (ownership.DirLock); every call
# below that names a path inside it goes through that descriptor, so a run directory
# renamed, deleted or swapped for another while it trains never receives its files.
_HELD: dict[str, Folder] = {}


def hold(folder: Folder) -> None:
    _HELD[os.path.abspath(folder.path)] = folder


def let_go(folder: Folder) -> None:
    key = os.path.abspath(folder.path)
    if _HELD.get(key) is folder:
        del _HELD[key]


def _held_below(path: Path) -> tuple[Folder, str] | None:
    """The held folder that ``path`` lies in, and the path relative to it."""
    if not _HELD:
        return None
    full = os.path.abspath(path)
    here = full
    while True:
        folder = _HELD.get(here)
        if folder is not None and folder.fd >= 0:
            return folder, os.path.relpath(full, here)
        up = os.path.dirname(here)
        if up == here:
            return None
        here = up


@contextlib.contextmanager
def opened(where: str | Path | Folder) -> Iterator[Folder]:
    """The run or sweep folder to work in: a Folder already open, the one this process
    holds as owner, or the folder at a path, opened for the call (its name never a link)."""
    if isinstance(where, Folder):
        yield where
        return
    held = _held_below(Path(where))
    if held is not None and held[1] == ".":
        yield held[0]
        return
    if held is not None:
        with held[0].sub(held[1]) as folder:
            yield folder
        return
    with Folder.at(where) as folder:
        yield folder


@contextlib.contextmanager
def _located(path: str | Path) -> Iterator[tuple[Folder, str]]:
    """The folder a one-call form works in, and the name below it."""
    path = Path(path)
    held = _held_below(path.parent)
    if held is not None:
        yield held[0], os.path.normpath(os.path.join(held[1], path.name))
        return
    with Folder.root(path.parent) as folder:
        yield folder, path.name


# -- one-call forms: the parent is opened as a Folder for the call -------------------------
def open_regular(path: str | Path, flags: int) -> int:
    """Open without following a final link or blocking on a FIFO; refuse all but a regular file."""
    with _located(path) as (folder, name):
        return folder.open_regular(name, flags)


def read_bytes(path: str | Path, limit: int) -> bytes:
    """The content of a regular file of at most ``limit`` bytes (OSError otherwise)."""
    with _located(path) as (folder, name):
        return folder.read_bytes(name, limit)


def read_text(path: str | Path, limit: int) -> str:
    """A regular UTF-8 text file of at most ``limit`` bytes (OSError / UnicodeDecodeError)."""
    return read_bytes(path, limit).decode("utf-8")


def read_from(path: str | Path, offset: int, limit: int) -> bytes:
    """What a regular file holds past ``offset`` (at most ``limit`` bytes): follow a log."""
    with _located(path) as (folder, name):
        return folder.read_from(name, offset, limit)


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
    """A descriptor that appends to a regular file (created if missing), never through a
    link, never into another name's hard-linked content."""
    with _located(path) as (folder, name):
        return folder.open_append(name)


def open_fresh(path: str | Path) -> int:
    """A descriptor on a new, empty regular file at ``path``."""
    with _located(path) as (folder, name):
        return folder.open_fresh(name)


def write_atomic(path: str | Path, data: bytes | memoryview) -> None:
    """Write a new file beside ``path`` and rename it over (see Folder.write_atomic)."""
    with _located(path) as (folder, name):
        folder.write_atomic(name, data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))


def unlink(path: str | Path, *, missing_ok: bool = True) -> None:
    try:
        with _located(path) as (folder, name):
            folder.unlink(name, missing_ok=missing_ok)
    except FileNotFoundError:
        if not missing_ok:
            raise


def rmtree(path: str | Path, *, missing_ok: bool = True) -> None:
    """Remove a folder and what it holds, never following a link (one at ``path`` is
    removed as a link)."""
    try:
        with _located(path) as (folder, name):
            folder.rmtree(name, missing_ok=missing_ok)
    except FileNotFoundError:
        if not missing_ok:
            raise


def mkdir(path: str | Path) -> None:
    """Make one folder (and those between it and its parent) below its parent; a link in
    the way is refused."""
    with _located(path) as (folder, name):
        folder.mkdir(name)


@contextlib.contextmanager
def subfolder(path: str | Path, *, create: bool = False) -> Iterator[Folder]:
    """The folder a run or sweep keeps below itself (``analysis/``, ``checkpoints/``),
    reached from its parent without following a link."""
    path = Path(path)
    with opened(path.parent) as parent, parent.sub(path.name, create=create) as folder:
        yield folder


def make_new_dir(path: str | Path) -> None:
    """Make one new folder (FileExistsError when the name is taken)."""
    with _located(path) as (folder, name):
        folder.make_new_dir(name)


def make_dirs(path: str | Path) -> None:
    """A folder the user named (the runs folder, an export folder), made with its parents."""
    Path(path).mkdir(parents=True, exist_ok=True)  # door: the user's own folder


def rename(path: str | Path, new_name: str) -> None:
    with _located(path) as (folder, name):
        folder.rename(name, new_name)
