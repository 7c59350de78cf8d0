"""One line on stderr per error or warning, whatever the libraries underneath print.

C libraries (libpng, libjpeg, libheif, LittleCMS...) write to file descriptor 2 directly, and
Python libraries raise warnings with source lines. While a command runs, descriptor 2 goes to a
temporary file and Python's own stderr to the real one; afterwards whatever a library printed
becomes at most one `warning:` line. Python warnings become one `warning:` line each. Both are
held until the command ends and dropped when it fails: the error's one line then says it all.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator

LIBRARY_LINE = 160  # characters kept of what a library printed


def _one_line(message) -> str:
    return "warning: " + " ".join(str(message).split())


@contextlib.contextmanager
def library_stderr_captured() -> Iterator[None]:
    """Run the block with C-level stderr captured; report it as one warning line after."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (embedded use): nothing to protect
        yield
        return
    with tempfile.TemporaryFile() as sink, os.fdopen(os.dup(saved), "w", buffering=1) as real:
        os.dup2(sink.fileno(), 2)
        previous, previous_warning = sys.stderr, warnings.showwarning
        held: list[str] = []
        sys.stderr = real
        warnings.showwarning = lambda message, *args, **kwargs: held.append(_one_line(message))
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sys.stderr, warnings.showwarning = previous, previous_warning
            sink.seek(0)
            said = sink.read().decode("utf-8", "replace").split()
            if said:
                held.append(_one_line(f"a decoding library said: {' '.join(said)}")[:LIBRARY_LINE])
            if not failed:
                for line in held:
                    print(line, file=sys.stderr)
