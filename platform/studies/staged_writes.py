"""Writing an object's bytes to the disk while the request that brought them checks them.

`FileSystemStore.stage` hands the bytes to a writer thread and returns; the request parses and
validates the object meanwhile, and `Staged.place` later gives the flushed file its name (or
`Staged.discard` drops it for an object that is refused). Until placed, an object is invisible.

The writer of an object alone in its request starts at once (decision 0130). A thread that
has just been handed work needs the GIL to begin it, and a request thread busy parsing keeps
the GIL for up to the switch interval (5 ms), so the flush used to begin only when the request
blocked in `place`, and nothing overlapped. `stage` now waits until the writer has made its
temporary file and is inside the one call that moves the bytes and flushes them (`pwritev` with
RWF_DSYNC on Linux, which releases the GIL for all of it).
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

# Errors that mean "this kernel or filesystem cannot do that", not "the disk failed".
_UNSUPPORTED = (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS)


def write_all_synced(fd: int, data: bytes) -> None:
    """Write `data` at the start of the empty file `fd` and flush it to the disk: the data, and
    the size that reads it back, are on the disk when this returns (as after `fdatasync`)."""
    view = memoryview(data)
    flags = getattr(os, "RWF_DSYNC", 0)
    if flags and hasattr(os, "pwritev"):
        try:
            written = os.pwritev(fd, [view], 0, flags)
            while written < len(view):  # Linux moves at most ~2 GiB per call
                written += os.pwritev(fd, [view[written:]], written, flags)
            return
        except OSError as exc:
            # A kernel before 4.7 (or a filesystem without the flag) refuses it; anything else,
            # a full disk for one, is a real error.
            if exc.errno not in _UNSUPPORTED:
                raise
    written = 0
    while written < len(view):
        written += os.pwrite(fd, view[written:], written)
    os.fsync(fd)


def write_named_temporary(folder: Path, data: bytes, entered: threading.Event | None = None) -> str:
    """A temporary file in `folder` holding `data`, flushed; returns its path. `entered` is set
    once the file exists, just before the write and flush begin (and on failure)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    finally:
        if entered is not None:
            entered.set()  # on failure too: the caller then meets the error in `place`
    try:
        try:
            write_all_synced(fd, data)
        finally:
            os.close(fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def flusher() -> ThreadPoolExecutor:
    """This process's pool of writer threads. Made after a fork (gunicorn --preload, Celery),
    never inherited from the parent."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(4, thread_name_prefix="dicom-put"))
        return _pool[1]


class Staged:
    """An object being written by FileSystemStore.stage: `place` it once its index rows are
    about to commit, or `discard` it. Either waits for the write; calling both is harmless."""

    def __init__(self, target: Path, write: Future[str]) -> None:
        self.target = target
        self._write: Future[str] | None = write

    @classmethod
    def start(cls, target: Path, data: bytes, *, begin_now: bool = True) -> Staged:
        """Hand `data` to a writer thread; with `begin_now`, return once its write has begun.

        Waiting costs the caller the writer's wake-up and the creation of its file (0.2-0.9 ms
        here), and pays off when the caller goes on computing for longer than the flush takes:
        an object alone in its request. The parts of a multi-part request are staged without
        waiting: their writers start as soon as the request thread blocks, and then flush in
        parallel (waiting for each made a 20-part request ~5 ms slower)."""
        entered = threading.Event()
        write = flusher().submit(write_named_temporary, target.parent, data, entered)
        if begin_now:
            entered.wait()
        return cls(target, write)

    @property
    def key(self) -> str:
        return self.target.name

    @property
    def pending(self) -> bool:
        """Neither placed nor discarded yet."""
        return self._write is not None

    def place(self) -> str:
        """Rename the flushed file into place (as `put` does); returns the key."""
        if self._write is None:
            raise RuntimeError(f"{self.key} was already placed or discarded")
        tmp, self._write = self._write.result(), None
        if self.target.exists():  # another request stored the same bytes meanwhile
            Path(tmp).unlink(missing_ok=True)
        else:
            os.replace(tmp, self.target)
        return self.key

    def discard(self) -> None:
        """Remove the temporary file (and the folders made for it when left empty)."""
        if self._write is None:
            return
        write, self._write = self._write, None
        try:
            Path(write.result()).unlink(missing_ok=True)
        except OSError:
            return  # the write failed: it removed its own temporary file
        for parent in (self.target.parent, self.target.parent.parent):
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
