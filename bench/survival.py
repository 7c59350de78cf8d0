"""Do carriers survive the tools people run on their photos? Prints a markdown table.

    python bench/survival.py [PHOTO] [--keep DIR]

Encodes PHOTO (default: the Display P3 phone photo of the shared originals) into a PNG and a
JPEG carrier with the CLI, makes a sidecar of each (`detach`), then runs every installed tool on
a copy: exiftool, optipng, pngcrush, oxipng, jpegtran (optimise, progressive, rotate, no
metadata), vips, ImageMagick, Pillow. Each result is decoded with `gamut-onnx decode --strict`
(restores / dropped / refused, with the one-line message), without --strict (exit code and
what was written), and with the sidecar made before the tool beside it. Tools that are not
installed are listed as skipped. tests/test_survival.py runs a fast slice of it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PHOTO = Path(__file__).resolve().parents[1] / "../shared/data/originals/rototor_Italy-P3.jpg"


def _imagemagick() -> str | None:
    """ImageMagick's convert (or magick), not a stand-in of that name."""
    for tool in (shutil.which("magick"), shutil.which("convert"), "/usr/bin/convert"):
        if tool and Path(tool).exists():
            probe = subprocess.run([tool, "-version"], capture_output=True, text=True)
            if "ImageMagick" in probe.stdout:
                return tool
    return None


def _oxipng() -> Callable[[Path, Path], None] | None:
    if shutil.which("oxipng"):
        return lambda src, dst: _run("oxipng", "-q", "-o", "2", "--out", dst, src)
    try:
        import oxipng
    except ImportError:
        return None
    return lambda src, dst: oxipng.optimize(src, dst, level=2)


def _pillow(src: Path, dst: Path) -> None:
    from PIL import Image

    with Image.open(src) as image:
        image.save(dst)


def _run(*argv) -> None:
    subprocess.run([str(a) for a in argv], check=True, capture_output=True, timeout=120)


def _exe(name: str, *args: str, out_flag: str | None = None, inplace=False):
    """A tool that reads SRC and writes DST: `name args... SRC DST` or with an output flag."""
    if shutil.which(name) is None:
        return None

    def run(src: Path, dst: Path) -> None:
        if out_flag:
            _run(name, *args, out_flag, dst, src)
        else:
            _run(name, *args, src, dst)

    return run


def tools() -> list[tuple[str, str, Callable[[Path, Path], None] | None]]:
    """(format, what is run, how to run it or None when not installed), in table order."""
    magick = _imagemagick()
    convert = (lambda src, dst: _run(magick, src, dst)) if magick else None
    vips = _exe("vips", "copy")
    return [
        ("png", "exiftool -Artist=x", _exe("exiftool", "-q", "-Artist=x", out_flag="-o")),
        ("png", "optipng -o2", _exe("optipng", "-quiet", "-o2", out_flag="-out")),
        ("png", "pngcrush", _exe("pngcrush", "-q")),
        ("png", "oxipng -o 2", _oxipng()),
        ("png", "optipng -strip all", _exe("optipng", "-quiet", "-strip", "all", out_flag="-out")),
        ("png", "exiftool -all=", _exe("exiftool", "-q", "-all=", out_flag="-o")),
        ("png", "vips copy", vips),
        ("png", "ImageMagick convert", convert),
        ("png", "Pillow re-save", _pillow),
        ("jpeg", "exiftool -Artist=x", _exe("exiftool", "-q", "-Artist=x", out_flag="-o")),
        ("jpeg", "jpegtran -copy all -optimize",
         _exe("jpegtran", "-copy", "all", "-optimize", out_flag="-outfile")),
        ("jpeg", "jpegtran -copy all -progressive",
         _exe("jpegtran", "-copy", "all", "-progressive", out_flag="-outfile")),
        ("jpeg", "jpegtran -copy all -rotate 90",
         _exe("jpegtran", "-copy", "all", "-rotate", "90", out_flag="-outfile")),
        ("jpeg", "jpegtran -copy none", _exe("jpegtran", "-copy", "none", out_flag="-outfile")),
        ("jpeg", "exiftool -all=", _exe("exiftool", "-q", "-all=", out_flag="-o")),
        ("jpeg", "vips copy", vips),
        ("jpeg", "ImageMagick convert", convert),
        ("jpeg", "Pillow re-save", _pillow),
    ]  # fmt: skip


def cli(*args) -> subprocess.CompletedProcess:
    """`gamut-onnx ARGS` in this interpreter (so PYTHONPATH picks the tree under test)."""
    cmd = [sys.executable, "-m", "gamut_onnx", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def _line(result: subprocess.CompletedProcess) -> str:
    text = (result.stderr.strip().splitlines() or [""])[-1]
    text = text.removeprefix("error: ").removeprefix("warning: ")
    return text.removeprefix("refusing to decode under --strict: ")


@dataclass
class Row:
    fmt: str
    tool: str
    strict: str  # "restores" | "dropped" | "refused: ..." | "skipped (...)" | "tool failed: ..."
    lenient: str = ""  # without --strict: exit code and what was written
    sidecar: str = ""  # with the sidecar made before the tool: "restores" | "refused: ..."

    def cells(self) -> list[str]:
        return [self.fmt.upper(), f"`{self.tool}`", self.strict, self.lenient, self.sidecar]


def verdict(result: subprocess.CompletedProcess) -> str:
    """What `decode --strict` said, in the table's words."""
    if result.returncode == 0:
        return "restores"
    line = _line(result)
    return "dropped" if "no gamut-onnx model" in line else f"refused: {line}"


def survive(fmt: str, tool: str, run, carrier: Path, sidecar: Path, work: Path) -> Row:
    """Run one tool on a copy of `carrier`, then decode the result three ways."""
    if run is None:
        return Row(fmt, tool, "skipped (not installed)")
    name = tool.split()[0].lower()
    flags = "".join(c for c in tool if c.isalnum())[:24]
    out = work / f"{fmt}_{name}_{flags}{carrier.suffix}"
    try:
        run(carrier, out)
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        return Row(fmt, tool, f"tool failed: {str(exc)[:80]}")
    strict = cli("decode", out, "-o", work / f"{out.stem}_s.tif", "--strict", "--overwrite")
    lenient = cli("decode", out, "-o", work / f"{out.stem}_l.tif", "--json", "--overwrite")
    if lenient.returncode == 0:
        report = json.loads(lenient.stdout)
        what = "restored" if report["restored"] else f"plain sRGB ({report['model']})"
        warned = f"; warns: {report['warnings'][0]}" if report["warnings"] else ""
        lenient_text = f"exit 0, {what}{warned}"
    else:
        lenient_text = f"exit {lenient.returncode}: {_line(lenient)}"
    shutil.copy(sidecar, out.with_name(out.name + ".gamut"))
    side = cli("decode", out, "-o", work / f"{out.stem}_c.tif", "--strict", "--json", "--overwrite")
    side_text = verdict(side)
    if side.returncode == 0:
        side_text += f" ({json.loads(side.stdout)['model']} model)"
    out.with_name(out.name + ".gamut").unlink()
    return Row(fmt, tool, verdict(strict), lenient_text, side_text)


def carriers(photo: Path, work: Path) -> dict[str, tuple[Path, Path]]:
    """A PNG and a JPEG carrier of `photo` and a sidecar of each."""
    made = {}
    for fmt, suffix in (("png", ".png"), ("jpeg", ".jpg")):
        carrier = work / f"carrier{suffix}"
        result = cli("encode", photo, "-o", carrier, "--quality", "fast", "-q", "--json")
        if result.returncode != 0:
            raise SystemExit(f"encode failed: {_line(result)}")
        if json.loads(result.stdout).get("model") == "none":
            raise SystemExit(f"{photo}: the encoder kept no model; choose a more saturated photo")
        sidecar = work / "sidecars" / f"carrier{suffix}.gamut"
        sidecar.parent.mkdir(exist_ok=True)
        result = cli("detach", carrier, "-o", sidecar)
        if result.returncode != 0:
            raise SystemExit(f"detach failed: {_line(result)}")
        made[fmt] = carrier, sidecar
    return made


def table(rows: list[Row]) -> str:
    head = ["carrier", "tool", "decode --strict", "decode (no --strict)", "with sidecar (--strict)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    keep = None
    if "--keep" in argv:
        keep = Path(argv[argv.index("--keep") + 1])
        del argv[argv.index("--keep") : argv.index("--keep") + 2]
    photo = Path(argv[0]) if argv else PHOTO.resolve()
    if not photo.exists():
        raise SystemExit(f"{photo}: no such photo (pass one: python bench/survival.py PHOTO)")
    with tempfile.TemporaryDirectory() as temp:
        work = keep or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        made = carriers(photo, work)
        rows = [survive(fmt, tool, run, *made[fmt], work) for fmt, tool, run in tools()]
    print(f"Carriers of {photo.name} (encode --quality fast); sidecars made before each tool.\n")
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
