"""`python -m gamut_onnx` runs the command line, as `gamut-onnx` does."""

from gamut_onnx.cli import main

main()
