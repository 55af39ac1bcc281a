"""Who owns a run or sweep directory: one live process, proven, never guessed (DESIGN.md rule 7).

A directory is owned through an OS lock (``flock`` on the directory itself) that dies
with its process, so kill -9 never leaves it stuck, and that no file operation inside
the directory can take away. The owner writes its identity (host, pid, the process's
start time since boot, its command line) into a ``.lock`` file beside it and into its
summary; a pid alone proves nothing, since pids are reused and summaries can be
copied or crafted. A process is treated as a directory's owner only when its identity
matches the live process, and is signalled only when, in addition, the kernel says it
holds the directory's lock (``/proc/locks``, matched by device and inode). Torch-free.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grok_tui import files

LOCK_NAME = ".lock"
_PROC = Path("/proc")


def _read_proc(path: Path) -> bytes | None:
    try:
        with path.open("rb") as f:
            return f.read(64 * 1024)
    except OSError:
        return None


def boot_id() -> str:
    data = _read_proc(_PROC / "sys/kernel/random/boot_id")
    return data.decode(errors="replace").strip() if data else ""


def start_time(pid: int) -> str | None:
    """When a process started ('boot id:clock ticks since boot'), None when unknowable.

    Two processes with one pid never share it: a reused pid started later.
    """
    data = _read_proc(_PROC / str(pid) / "stat")
    if not data:
        return None
    try:
        fields = data.rsplit(b")", 1)[1].split()
        if fields[0] == b"Z":  # a zombie has ended
            return None
        return f"{boot_id()}:{int(fields[19])}"
    except (IndexError, ValueError):
        return None


def parent_pid(pid: int) -> int | None:
    """The pid of a process's parent, None when it is gone (or /proc is absent)."""
    data = _read_proc(_PROC / str(pid) / "stat")
    try:
        return int(data.rsplit(b")", 1)[1].split()[1]) if data else None
    except (IndexError, ValueError):
        return None


def command_line(pid: int) -> list[str] | None:
    data = _read_proc(_PROC / str(pid) / "cmdline")
    if data is None:
        return None
    return [part.decode(errors="replace") for part in data.split(b"\0") if part]


@dataclass(frozen=True)
class Identity:
    """A process as its owner recorded it."""

    host: str
    pid: int
    started: str | None
    cmdline: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "pid": self.pid,
            "started": self.started,
            "cmdline": list(self.cmdline),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Identity | None:
        """An identity read from disk, or None when it is not one (crafted or damaged)."""
        from grok_tui.rundirs import ondisk  # pydantic: only once an identity is read

        if ondisk.identity_problem(data) is not None:
            return None
        host, pid = data.get("host"), data.get("pid")
        started, cmdline = data.get("started"), data.get("cmdline") or []
        if not isinstance(host, str) or not isinstance(pid, int) or isinstance(pid, bool):
            return None
        if started is not None and not isinstance(started, str):
            return None
        if not isinstance(cmdline, list) or not all(isinstance(c, str) for c in cmdline):
            return None
        return cls(host, pid, started, tuple(cmdline))

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def identity_of(pid: int) -> Identity:
    """The identity of a live process on this host (start time None where /proc is absent)."""
    return Identity(socket.gethostname(), pid, start_time(pid), tuple(command_line(pid) or ()))


def my_identity() -> Identity:
    if sys.platform.startswith("linux"):
        return identity_of(os.getpid())
    return Identity(socket.gethostname(), os.getpid(), None, tuple(sys.argv))


def is_local(identity: Identity) -> bool:
    return identity.host == socket.gethostname()


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    data = _read_proc(_PROC / str(pid) / "stat")
    if data is not None:  # a zombie (exited child not yet reaped) is not alive
        with contextlib.suppress(IndexError):
            return data.rsplit(b")", 1)[1].split()[0] != b"Z"
    return True


def is_alive(identity: Identity) -> bool:
    """True when this host runs the very process the identity names (not a reused pid)."""
    if not is_local(identity) or not pid_alive(identity.pid):
        return False
    if identity.started is None:  # recorded where start times are unknowable: the pid only
        return start_time(identity.pid) is None
    return start_time(identity.pid) == identity.started


def _lock_key(info: os.stat_result) -> tuple[int, int, int]:
    return os.major(info.st_dev), os.minor(info.st_dev), info.st_ino


def holds_lock(pid: int | None, directory: str | Path) -> bool | None:
    """Whether the kernel lists ``pid`` (None: any process) as holding a lock on the
    directory itself, matched by device *and* inode (an inode number alone repeats across
    filesystems); None when that is unknowable (no /proc/locks)."""
    data = _read_proc(_PROC / "locks")
    if data is None:
        return None
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    return _lock_key(info) in _held_keys(data, pid)


def _held_keys(data: bytes, pid: int | None) -> set[tuple[int, int, int]]:
    """(major, minor, inode) of every lock ``pid`` holds, as /proc/locks lists them
    ('1: FLOCK  ADVISORY  WRITE 2264 fe:00:260072 0 EOF'; major and minor in hex)."""
    keys = set()
    for line in data.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[1] == "->":  # "->": a waiter, not a holder
            continue
        try:
            holder = int(parts[4])
            major, minor, inode = parts[5].split(":")
            key = (int(major, 16), int(minor, 16), int(inode))
        except ValueError:
            continue
        if pid is None or holder == pid:
            keys.add(key)
    return keys


class LockedError(Exception):
    """The directory is owned by another live process."""

    def __init__(self, path: Path, holder: Identity | None) -> None:
        self.path = path
        self.holder = holder
        who = holder.describe() if holder else "another process"
        super().__init__(f"{path} is in use by {who}")


class DirLock:
    """An exclusive lock on a run or sweep directory, held until release() or process death.

    The lock is a ``flock`` on the directory itself, opened once: deleting, replacing or
    hard-linking the identity file (``name``) cannot free it, and the open directory is
    the door (``folder``) through which the owner writes, so a directory renamed or
    swapped while it is owned never receives another's files. The identity is written
    beside it by an atomic rename, never into a file in place.
    """

    def __init__(
        self, directory: str | Path, name: str = LOCK_NAME, *, user_folder: bool = False
    ) -> None:
        self.directory = Path(directory)
        self.name = name
        self.path = self.directory / name
        self.user_folder = user_folder  # the runs folder: it may be a link the user made
        self.folder: files.Folder | None = None

    def acquire(self) -> DirLock:
        """Take the lock or raise LockedError naming the holder; OSError when it cannot be made."""
        import fcntl

        opener = files.Folder.root if self.user_folder else files.Folder.at
        folder = opener(self.directory)
        try:
            try:
                fcntl.flock(folder.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise LockedError(self.directory, read_holder(self.path)) from None
            folder.write_atomic(self.name, json.dumps(my_identity().as_dict()).encode() + b"\n")
        except BaseException:
            folder.close()
            raise
        self.folder = folder
        files.hold(folder)  # this process's writes below the directory go through it
        return self

    def release(self) -> None:
        if self.folder is not None:
            with contextlib.suppress(OSError):  # first the identity, then the lock
                self.folder.unlink(self.name)
            files.let_go(self.folder)
            self.folder.close()  # closing drops the flock
            self.folder = None

    @property
    def held(self) -> bool:
        return self.folder is not None

    def __enter__(self) -> DirLock:
        return self if self.held else self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class FileLock:
    """A short lock for one read-modify-write of a shared file (queue.json): a ``flock``
    on a lock file beside it. It proves no ownership: nobody is signalled because of it.
    A lock file deleted or replaced between open and flock is opened again."""

    def __init__(self, directory: str | Path, name: str) -> None:
        self.directory = Path(directory)
        self.name = name
        self._fd: int | None = None

    def acquire(self) -> FileLock:
        import fcntl

        with files.Folder.root(self.directory) as folder:
            for _ in range(100):
                fd = folder.open_regular(self.name, os.O_RDWR | os.O_CREAT)
                try:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError as exc:
                        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                            raise
                        raise LockedError(self.directory, None) from None
                    mine = os.fstat(fd)
                    now = folder.lstat(self.name)
                except BaseException as exc:
                    os.close(fd)
                    if isinstance(exc, FileNotFoundError):
                        continue
                    raise
                if (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino):
                    self._fd = fd
                    return self
                os.close(fd)
        raise OSError(errno.EAGAIN, "the lock file keeps changing", str(self.directory))

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(lock_path: Path) -> Identity | None:
    """The identity written beside a lock (unverified: see live_holder)."""
    try:
        data = json.loads(files.read_text(lock_path, 64 * 1024) or "null")
    except (OSError, ValueError, RecursionError):
        return None
    return Identity.from_dict(data)


def live_holder(
    directory: str | Path, name: str = LOCK_NAME, *, recorded: Identity | None = None
) -> Identity | None:
    """The process that provably owns a directory now: its recorded identity (host, pid,
    start time, command line) matches the live process, and the kernel says it holds the
    lock. None otherwise."""
    lock_path = Path(directory) / name
    holder = read_holder(lock_path) or recorded  # the identity file may have been deleted
    if holder is None or holder.pid == os.getpid() or not is_alive(holder):
        return None
    if holder.cmdline and tuple(command_line(holder.pid) or ()) != holder.cmdline:
        return None  # the holder wrote its own command line: another one is another process
    if holds_lock(holder.pid, directory) is not True:
        return None
    return holder
