"""Who owns a run or sweep directory: one live process, proven, never guessed (DESIGN.md rule 7).

A directory is owned through an OS lock (``flock`` on a ``.lock`` file inside it) that
dies with its process, so kill -9 never leaves it stuck. The owner writes its identity
(host, pid, the process's start time since boot, its command line) into the lock file
and its summary; a pid alone proves nothing, since pids are reused and summaries can be
copied or crafted. A process is treated as a directory's owner only when its identity
matches the live process, and is signalled only when, in addition, the kernel says it
holds the directory's lock (``/proc/locks``). Torch-free.
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
        if not isinstance(data, dict):
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


def holds_lock(pid: int | None, lock_path: Path) -> bool | None:
    """Whether the kernel lists ``pid`` (None: any process) as holding a lock on
    ``lock_path``; None when that is unknowable (no /proc/locks)."""
    data = _read_proc(_PROC / "locks")
    if data is None:
        return None
    try:
        inode = os.lstat(lock_path).st_ino
    except OSError:
        return False
    for line in data.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[1] == "->":  # "->": a waiter, not a holder
            continue
        try:
            holder, where = int(parts[4]), parts[5]
        except ValueError:
            continue
        if (pid is None or holder == pid) and where.rsplit(":", 1)[-1] == str(inode):
            return True
    return False


class LockedError(Exception):
    """The directory is owned by another live process."""

    def __init__(self, path: Path, holder: Identity | None) -> None:
        self.path = path
        self.holder = holder
        who = holder.describe() if holder else "another process"
        super().__init__(f"{path} is in use by {who}")


class DirLock:
    """An exclusive lock on a run or sweep directory, held until release() or process death."""

    def __init__(self, directory: str | Path, name: str = LOCK_NAME) -> None:
        self.path = Path(directory) / name
        self._fd: int | None = None

    def acquire(self) -> DirLock:
        """Take the lock or raise LockedError naming the holder; OSError when it cannot be made."""
        import fcntl

        fd = os.open(
            self.path,
            os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
            0o644,
        )
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise files.UnsafeFileError(errno.EINVAL, "is not a regular file", str(self.path))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise LockedError(self.path.parent, read_holder(self.path)) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(my_identity().as_dict()).encode() + b"\n", 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> DirLock:
        return self if self.held else self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(lock_path: Path) -> Identity | None:
    """The identity written in a lock file (unverified: see live_holder)."""
    try:
        data = json.loads(files.read_text(lock_path, 64 * 1024) or "null")
    except (OSError, ValueError):
        return None
    return Identity.from_dict(data)


def live_holder(directory: str | Path, name: str = LOCK_NAME) -> Identity | None:
    """The process that provably owns a directory now: its recorded identity (host, pid,
    start time, command line) matches the live process, and the kernel says it holds the
    lock. None otherwise."""
    lock_path = Path(directory) / name
    if not files.is_regular(lock_path):
        return None
    holder = read_holder(lock_path)
    if holder is None or holder.pid == os.getpid() or not is_alive(holder):
        return None
    if holder.cmdline and tuple(command_line(holder.pid) or ()) != holder.cmdline:
        return None  # the holder wrote its own command line: another one is another process
    if holds_lock(holder.pid, lock_path) is not True:
        return None
    return holder
