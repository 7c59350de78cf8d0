"""The evaluation harness: every method through the real carrier path, scored against truth.

`harness` runs methods on images, `reports` turns rows into tables, `plots` into pictures,
`softclip` is the authors' soft-clipping baseline.
"""

from gamut_onnx.evaluate.harness import (
    AUTHORS_RECIPE,
    BASELINES,
    EvalRow,
    ImageResult,
    check_methods,
    evaluate,
    evaluate_image,
    find_images,
    parse_carrier,
    score,
)
from gamut_onnx.evaluate.reports import (
    means,
    progress_bar,
    report_csv,
    report_json,
    report_markdown,
    write_reports,
)

__all__ = [
    "AUTHORS_RECIPE",
    "BASELINES",
    "EvalRow",
    "ImageResult",
    "check_methods",
    "evaluate",
    "evaluate_image",
    "find_images",
    "means",
    "parse_carrier",
    "progress_bar",
    "report_csv",
    "report_json",
    "report_markdown",
    "score",
    "write_reports",
]
