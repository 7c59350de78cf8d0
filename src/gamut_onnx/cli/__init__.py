"""The `gamut-onnx` command line: one module per command group, sharing `common`.

Exit codes: 0 success, 1 a problem with the input or environment (one line on stderr),
2 a usage error. `--debug` shows tracebacks.
"""

from __future__ import annotations

import sys

import typer

from gamut_onnx.cli import decode, demo, encode, evaluate  # noqa: F401  (registers the commands)
from gamut_onnx.cli.common import _state, app
from gamut_onnx.errors import GamutError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: one-line errors and exit codes instead of tracebacks."""
    try:
        app()  # standalone mode: typer reports usage errors itself, with exit code 2
    except GamutError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: still one line unless --debug
        if _state["debug"]:
            raise
        typer.echo(
            f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True
        )
        sys.exit(1)
