"""The seed carriers: valid carriers built directly with the project's own writers (no model
fit), `encode_carrier` for PNG and TIFF, `jpeg.encode_jpeg` + `jpeg.add_segments` for JPEG, with a
blob whose image size and pixel digest match the pixels; version-1 blobs, ICC source spaces,
gating, widths, fp16/fp32 and odd layouts (Adam7, BigTIFF, big-endian, tiles, planes,
progressive, restart markers, Adobe) are in there too, and the conformance vectors. `rewrap`
puts another blob in a seed's container, as the mutators need."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from fuzz.jpeg_format import JPEG_BLOB_ID, jpeg_segment
from fuzz.png_format import Chunk, png_build, png_parse, png_raw
from fuzz.random_draws import rand_bytes
from fuzz.seed_material import icc_pool, make_blob, make_pixels
from fuzz.tiff_format import TIFF_BLOB_TAG, tiff_parse

VECTORS = Path(__file__).resolve().parents[1] / "conformance" / "vectors"


@dataclass
class Seed:
    name: str
    fmt: str  # png | tiff | jpeg
    data: bytes
    size: tuple[int, int]  # (height, width) of the pixels
    blob: bytes | None
    rewrap_ok: bool = True
    pixels: np.ndarray | None = None  # TIFF: to write again with another blob
    alpha: np.ndarray | None = None
    tiff_args: dict | None = None
    icc: bytes | None = None  # JPEG: the APP2 profile to keep when re-wrapping


def _pixels_and_blob(rng, h, w, alpha, blob_kw, plain, edited):
    """Random pixels, an alpha channel if asked, and a blob made for them: none when `plain`, one
    with a zero digest (as if the pixels were edited after encoding) when `edited`."""
    from gamut_onnx.blob import pixel_digest

    px = make_pixels(rng, h, w)
    a = rng.integers(0, 256, (h, w), dtype=np.uint8) if alpha else None
    digest = pixel_digest(px) if not edited else bytes(32)
    blob = None if plain else make_blob(rng, (h, w), digest, **(blob_kw or {}))
    return px, a, blob


def _png_seed(name, rng, h, w, *, alpha=False, blob_kw=None, plain=False, edited=False) -> Seed:
    from gamut_onnx.container.carrier import encode_carrier

    px, a, blob = _pixels_and_blob(rng, h, w, alpha, blob_kw, plain, edited)
    return Seed(name, "png", encode_carrier("png", px, a, blob), (h, w), blob)


def _png_raw_seed(name, rng, h, w, colour, depth=8, interlace=0, with_blob=True, chunks=()):
    from gamut_onnx.blob import pixel_digest

    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    top = (1 << depth) - 1
    px = rng.integers(0, top + 1, (h, w, channels)).astype(np.uint16 if depth == 16 else np.uint8)
    chunks = list(chunks)
    blob = None
    if with_blob:
        rgb = px[..., :3] if colour in (2, 6) and depth == 8 else np.zeros((h, w, 3), np.uint8)
        blob = make_blob(rng, (h, w), pixel_digest(rgb), gated=True, margin=1)
        chunks.append((b"gmLP", blob))
    plte = rand_bytes(rng, 3 * (top + 1)) if colour == 3 else None
    data = png_raw(px, colour, depth, interlace, chunks, rng=rng, plte=plte)
    return Seed(name, "png", data, (h, w), blob)


TIFF_VARIANTS = {
    "carrier": {},
    "raw": dict(compression=None),
    "lzw": dict(compression="lzw"),
    "packbits": dict(compression="packbits"),
    "zlib-nopredictor": dict(compression="zlib", predictor=False),
    "planar": dict(planarconfig="separate"),
    "tiled": dict(tile=(16, 16)),
    "bigendian": dict(byteorder=">"),
    "bigtiff": dict(bigtiff=True),
    "rowsperstrip1": dict(rowsperstrip=1),
    "jpeg": dict(compression="jpeg"),
}


def write_tiff(pixels, alpha, blob, args: dict) -> bytes:
    """A TIFF like the carrier writer's, with `args` changed (tifffile.imwrite keywords);
    args["blob_type"] = 2 writes the blob tag as ASCII, as Pillow writes a bytes value."""
    import tifffile

    from gamut_onnx.colour.icc import SRGB_ICC
    from gamut_onnx.container.carrier import encode_carrier

    args = dict(args)
    blob_type = args.pop("blob_type", 7)
    if not args and blob_type == 7:
        return encode_carrier("tiff", pixels, alpha, blob)
    px = pixels if alpha is None else np.dstack([pixels, alpha])
    kw = dict(
        photometric="rgb",
        planarconfig="contig",
        compression="zlib",
        predictor=True,
        iccprofile=SRGB_ICC,
        metadata=None,
        software="gamut-onnx",
        extrasamples=["unassalpha"] if px.ndim == 3 and px.shape[-1] == 4 else None,
    )
    if args.get("photometric") == "minisblack":
        kw.pop("planarconfig")
        kw["extrasamples"] = None
    kw.update(args)
    if kw.get("compression") in (None, "lzw", "packbits", "jpeg"):
        kw.pop("predictor", None)
    if blob:
        kw["extratags"] = [(TIFF_BLOB_TAG, 7, len(blob), bytes(blob), True)]
    if kw.get("planarconfig") == "separate":
        px = np.ascontiguousarray(np.moveaxis(px, -1, 0))
    buf = io.BytesIO()
    tifffile.imwrite(buf, px, **kw)
    data = buf.getvalue()
    if blob and blob_type != 7:
        layout = tiff_parse(data)
        out = bytearray(data)
        for e in layout.entries:
            if e.tag == TIFF_BLOB_TAG:
                struct.pack_into(layout.order + "H", out, e.at + 2, blob_type)
        data = bytes(out)
    return data


def _tiff_seed(name, rng, h, w, args, *, alpha=False, blob_kw=None, plain=False, edited=False):
    px, a, blob = _pixels_and_blob(rng, h, w, alpha, blob_kw, plain, edited)
    data = write_tiff(px, a, blob, args)
    return Seed(name, "tiff", data, (h, w), blob, pixels=px, alpha=a, tiff_args=args)


def _jpeg_bare(rng, px, how: str) -> bytes:
    from PIL import Image

    from gamut_onnx.container import jpeg

    if how.startswith("q"):
        return jpeg.encode_jpeg(px, int(how[1:]))
    buf = io.BytesIO()
    image = Image.fromarray(px)
    if how == "progressive":
        image.save(buf, "JPEG", quality=80, progressive=True, subsampling="4:2:0")
    elif how == "restart":
        image.save(buf, "JPEG", quality=85, restart_marker_blocks=2, subsampling="4:4:4")
    elif how == "adobe":
        image.save(buf, "JPEG", quality=90, keep_rgb=True)
    elif how == "grey":
        image.convert("L").save(buf, "JPEG", quality=90)
    elif how == "cmyk":
        image.convert("CMYK").save(buf, "JPEG", quality=90)
    else:  # 4:2:2 with Exif and a comment
        image.save(
            buf,
            "JPEG",
            quality=70,
            subsampling="4:2:2",
            exif=b"Exif\0\0MM\0*\0\0\0\x08\0\0",
            comment=b"fuzz",
        )
    return buf.getvalue()


def _jpeg_seed(name, rng, h, w, how="q90", *, blob_kw=None, plain=False, icc=True, edited=False):
    from gamut_onnx.colour.icc import SRGB_ICC
    from gamut_onnx.container import jpeg

    px = make_pixels(rng, h, w)
    bare = _jpeg_bare(rng, px, how)
    kw = dict(blob_kw or {})
    version = kw.get("version", 2)
    digest = jpeg.scan_digest(bare, version) if not edited else bytes(32)
    blob = None if plain else make_blob(rng, (h, w), digest, **kw)
    profile = SRGB_ICC if icc else None
    return Seed(name, "jpeg", jpeg.add_segments(bare, profile, blob), (h, w), blob, icc=profile)


def _vector_seeds() -> list[Seed]:
    import tifffile
    from PIL import Image

    from gamut_onnx.container import jpeg, png
    from gamut_onnx.container.carrier import PNG_BLOB_CHUNK

    seeds = []
    for path in sorted(VECTORS.iterdir()):
        fmt = {".png": "png", ".tif": "tiff", ".jpg": "jpeg"}.get(path.suffix)
        if fmt is None:
            continue
        data = path.read_bytes()
        name = f"vector-{path.stem}"
        if fmt == "tiff":
            with tifffile.TiffFile(io.BytesIO(data)) as tif:
                page = tif.pages[0]
                px = page.asarray()
                blob = bytes(page.tags[TIFF_BLOB_TAG].value)
            alpha = px[..., 3].copy() if px.shape[-1] == 4 else None
            seeds.append(
                Seed(
                    name,
                    fmt,
                    data,
                    px.shape[:2],
                    blob,
                    pixels=px[..., :3].copy(),
                    alpha=alpha,
                    tiff_args={},
                )
            )
            continue
        try:
            with Image.open(io.BytesIO(data)) as image:
                size = (image.height, image.width)
        except OSError:  # e.g. neg_map_bad_crc: Pillow refuses any bad CRC; not a seed
            continue
        if fmt == "png":
            blobs = [p for t, p in png.iter_chunks(data) if t == PNG_BLOB_CHUNK]
            seeds.append(Seed(name, fmt, data, size, blobs[0] if blobs else None))
        else:
            icc = None
            for m, p in jpeg.iter_segments(data):
                if m == jpeg.APP2 and p.startswith(jpeg.ICC_ID):
                    icc = p[len(jpeg.ICC_ID) + 2 :]
            blob = b"".join(
                p[len(jpeg.BLOB_ID) + 2 :]
                for m, p in jpeg.iter_segments(data)
                if m == jpeg.APP9 and p.startswith(jpeg.BLOB_ID)
            )
            seeds.append(Seed(name, fmt, data, size, blob or None, icc=icc))
    return seeds


@cache
def seeds() -> tuple[Seed, ...]:
    """Every seed, in a fixed order (built once per process, ~1 s)."""
    rng = np.random.default_rng(20261127)
    out: list[Seed] = []
    icc = icc_pool()
    sizes = [(1, 1), (1, 7), (5, 1), (3, 4), (9, 16), (17, 23), (32, 48), (2, 530), (515, 2)]
    blob_kws = [
        dict(),
        dict(width=32, octaves=4, dtype="float32", gated=True, margin=3),
        dict(primaries="p3", transfer="srgb", gated=True),
        dict(primaries="bt2020", transfer="pq", width=16, octaves=3),
        dict(icc=icc[2]),
        dict(icc=icc[4], dtype="float32"),
        dict(version=1, gated=True),
        dict(width=64, octaves=1, scale=50.0),
        dict(width=16, octaves=16, scale=3.0, dtype="float32"),
    ]
    for i, (h, w) in enumerate(sizes):
        kw = blob_kws[i % len(blob_kws)]
        out.append(_png_seed(f"png-{w}x{h}-b{i}", rng, h, w, blob_kw=kw))
    out.append(_png_seed("png-alpha", rng, 12, 10, alpha=True, blob_kw=blob_kws[1]))
    out.append(_png_seed("png-plain", rng, 8, 8, plain=True))
    out.append(_png_seed("png-edited", rng, 8, 9, edited=True))
    out.append(_png_seed("png-w128", rng, 6, 5, blob_kw=dict(width=128, octaves=4)))
    out.append(_png_seed("png-v1-alpha", rng, 7, 6, alpha=True, blob_kw=dict(version=1)))
    # hand-written PNGs: Adam7, random filters, other colour types and depths, colour chunks
    out.append(_png_raw_seed("pngraw-adam7-rgb", rng, 11, 13, 2, interlace=1))
    out.append(_png_raw_seed("pngraw-adam7-rgba", rng, 9, 9, 6, interlace=1))
    out.append(_png_raw_seed("pngraw-filters", rng, 10, 7, 2))
    out.append(_png_raw_seed("pngraw-rgb16", rng, 4, 5, 2, depth=16))
    out.append(_png_raw_seed("pngraw-grey", rng, 5, 5, 0, with_blob=False))
    out.append(_png_raw_seed("pngraw-greyalpha", rng, 5, 4, 4))
    out.append(_png_raw_seed("pngraw-palette", rng, 6, 6, 3, with_blob=False))
    out.append(_png_raw_seed("pngraw-grey1", rng, 9, 17, 0, depth=1, with_blob=False))
    iccp = (b"iCCP", b"sRGB\0\0" + zlib.compress(icc[0]))
    cicp = (b"cICP", bytes([1, 13, 0, 1]))
    out.append(_png_raw_seed("pngraw-iccp", rng, 6, 7, 2, chunks=[iccp]))
    out.append(_png_raw_seed("pngraw-cicp", rng, 6, 7, 6, chunks=[cicp, (b"sRGB", b"\0")]))
    # TIFF
    for i, (variant, args) in enumerate(TIFF_VARIANTS.items()):
        h, w = sizes[(i + 3) % len(sizes)] if i % 3 else (12, 20)
        if variant == "tiled":
            h, w = 20, 33
        out.append(
            _tiff_seed(
                f"tiff-{variant}",
                rng,
                h,
                w,
                args,
                alpha=i % 4 == 1,
                blob_kw=blob_kws[i % len(blob_kws)],
            )
        )
    out.append(_tiff_seed("tiff-ascii-blob", rng, 6, 8, dict(blob_type=2)))
    out.append(
        _tiff_seed("tiff-assoc-alpha", rng, 6, 8, dict(extrasamples=["assocalpha"]), alpha=True)
    )
    out.append(_tiff_seed("tiff-plain", rng, 6, 8, {}, plain=True))
    out.append(_tiff_seed("tiff-edited", rng, 6, 8, {}, edited=True))
    out.append(_tiff_seed("tiff-grey", rng, 6, 8, dict(photometric="minisblack")))
    # JPEG
    for i, how in enumerate(("q90", "q50", "q100", "progressive", "restart", "adobe", "exif")):
        h, w = ((8, 8), (17, 23), (32, 48), (16, 16), (24, 40), (9, 16), (3, 530))[i]
        out.append(_jpeg_seed(f"jpeg-{how}", rng, h, w, how, blob_kw=blob_kws[i % len(blob_kws)]))
    out.append(_jpeg_seed("jpeg-v1", rng, 16, 16, blob_kw=dict(version=1, gated=True, margin=2)))
    out.append(
        _jpeg_seed(
            "jpeg-multiseg", rng, 8, 16, blob_kw=dict(width=128, octaves=16, dtype="float32")
        )
    )
    out.append(_jpeg_seed("jpeg-plain", rng, 8, 8, plain=True))
    out.append(_jpeg_seed("jpeg-noicc", rng, 8, 8, icc=False))
    out.append(_jpeg_seed("jpeg-grey", rng, 8, 8, "grey"))
    out.append(_jpeg_seed("jpeg-cmyk", rng, 8, 8, "cmyk"))
    out.append(_jpeg_seed("jpeg-edited", rng, 8, 8, edited=True))
    out += _vector_seeds()
    return tuple(out)


def rewrap(seed: Seed, blob: bytes | None) -> bytes:
    """The seed's container holding another blob (None or b"": a blob-less/empty one)."""
    if seed.fmt == "png":
        chunks, trailer = png_parse(seed.data)
        kept = [c for c in chunks if c.ctype != b"gmLP"]
        if blob is not None:
            kept.insert(1, Chunk(b"gmLP", blob))
        return png_build(kept, trailer)
    if seed.fmt == "jpeg":
        from gamut_onnx.container import jpeg

        if blob and len(blob) <= 255 * 65520:
            return jpeg.add_segments(seed.data, seed.icc, blob)
        bare = jpeg.add_segments(seed.data, seed.icc, None)
        if blob is None:
            return bare
        seg = jpeg_segment(0xE9, JPEG_BLOB_ID + b"\x01\x01" + blob[:65000])
        return bare[:2] + seg + bare[2:]
    return write_tiff(seed.pixels, seed.alpha, blob or None, seed.tiff_args or {})
