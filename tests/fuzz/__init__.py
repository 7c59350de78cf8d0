"""A structure-aware fuzzer for the carrier decoders (Python and Node runtimes).

Making cases (every step deterministic from a numpy Generator):
- format walkers: `png_format`, `tiff_format`, `jpeg_format`, `blob_format` (parse and write
  just enough structure to mutate it meaningfully), `file_header` (format and declared size);
- mutators built on them: `png_mutators`, `tiff_mutators`, `jpeg_mutators`, `blob_mutators`,
  `icc_mutator`, `generic_mutators`, drawing from `random_draws`, `zlib_zeros` and acting in a
  `mutation_context`; `mutate` stacks a few of them on one seed;
- `seed_material` and `seed_carriers` (valid carriers built with the project's own writers, plus
  the conformance vectors), `bombs` (the named bombs), and `corpus`: `case(seed, index)`, the
  deterministic case stream, also written to a folder for the Node runtime.

Checking them:
- `oracle`: what every input must do (decode to a finite HxWx3 float32 image in [0, 1] of the
  carrier's size, or fail with a one-line GamutError), with `output_capture` for what libraries
  print;
- `worker` and `pool`: worker processes that run cases with a per-case time limit; `cli_checks`:
  the real command line; `bomb_check`: time and peak RSS of each bomb; `summary`: the counts.

Run the CI slice with `pytest tests/test_fuzz.py`, a long run with `python bench/fuzz.py`.
"""
