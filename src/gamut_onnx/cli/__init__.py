"""The `gamut-onnx` command line: one module per command group, sharing `common`.

Exit codes: 0 success, 1 a problem with the input or environment (one line on stderr),
2 a usage error. `--debug` shows tracebacks.
"""

from __future__ import annotations

import json
import sys

import typer

from gamut_onnx.cli import decode, demo, encode, evaluate, sidecar  # noqa: F401  (registers the commands)
from gamut_onnx.cli.common import _state, app
from gamut_onnx.cli.stderr import library_stderr_captured
from gamut_onnx.errors import GamutError, one_line

__all__ = ["app", "main"]


def _fail(message: str, code: int) -> None:
    """One line on stderr; with --json also {"error": ...} on stdout, for scripts."""
    typer.echo(f"error: {message}", err=True)
    if "--json" in sys.argv[1:]:
        typer.echo(json.dumps({"error": message}))
    sys.exit(code)


def main() -> None:
    """Entry point: one-line errors and exit codes instead of tracebacks."""
    with library_stderr_captured():
        try:
            app()  # standalone mode: typer reports usage errors itself, with exit code 2
        except GamutError as exc:
            if _state["debug"]:
                raise
            _fail(one_line(str(exc)), 1)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug: still one line unless --debug
            if _state["debug"]:
                raise
            _fail(one_line(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug)"), 1)
