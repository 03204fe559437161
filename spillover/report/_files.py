"""Atomic file writes with the permissions a plain ``open(path, "w")`` would give."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask (read by setting and restoring it, under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def write_atomic(path: str | Path, text: str | bytes) -> Path:
    """Write ``text`` to ``path`` whole or not at all (temp file in the same folder, rename).

    The file gets mode ``0o666 & ~umask``, as a file created by ``open(path, "w")``, both
    when it is new and when it replaces an existing file (``tempfile.mkstemp`` alone
    would leave it ``0o600``, readable by its owner only). Strings are written as UTF-8.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> old = os.umask(0o022)
    >>> path = write_atomic(os.path.join(folder, "note.txt"), "hello\\n")
    >>> oct(os.stat(path).st_mode & 0o777), path.read_text()
    ('0o644', 'hello\\n')
    >>> _ = os.umask(old)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
