"""Atomic output: a crash, a kill or a bad input never leaves a half-written file behind.

Bytes go to a temporary file beside the target, which is fsynced and renamed over it only when
complete; the rename is atomic on POSIX filesystems. The file gets the permissions of a normal
new file under the user's umask (mkstemp alone would leave it 0600).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from gamut_onnx.errors import GamutError

TEMP_SUFFIX = ".gamut-onnx.tmp"  # hidden ".NAME.XXXX" + this: a batch run removes leftovers


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write to that appears at `path` only when the block ends normally."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise GamutError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)  # reopened by name: some writers (tifffile) want a named file object
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise GamutError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | Iterable[bytes]) -> None:
    """Write `data` (bytes, or an iterable of byte strings streamed as they come) atomically."""
    with open_atomic(path) as f:
        if isinstance(data, (bytes, bytearray, memoryview)):
            f.write(data)
        else:
            for part in data:
                f.write(part)


def check_writable(path: str | os.PathLike) -> None:
    """Fail before any slow work if `path` cannot be created: its folder must exist and accept
    a new file (probed with a real temporary file), and `path` must not be a folder."""
    path = Path(path)
    if path.is_dir():
        raise GamutError(f"cannot write {path}: is a folder")
    if not path.parent.is_dir():
        raise GamutError(f"cannot write {path}: folder {path.parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise GamutError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(tmp)
