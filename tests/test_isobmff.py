"""The HEIF/AVIF header reader against real photos, files written by libheif/libavif, and damage."""

import io
import random
import re
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from gamut_onnx.errors import GamutError
from gamut_onnx.read.isobmff import HeifHeader, is_heif_or_avif, read_heif_header

pillow_heif = pytest.importorskip("pillow_heif")
imagecodecs = pytest.importorskip("imagecodecs")
ImageCms = pytest.importorskip("PIL.ImageCms")

ORIGINALS = Path("/work/shared/data/originals")
AVIF_ORIGINAL = "aomediacodec_animals_00_singlelayer.avif"
HEIC_ORIGINALS = sorted(
    p.name
    for p in (ORIGINALS.iterdir() if ORIGINALS.is_dir() else [])
    if p.suffix.lower() == ".heic"
)
NO_ORIGINALS = pytest.param(None, marks=pytest.mark.skip(reason=f"{ORIGINALS} is absent"))
CORRUPT = "HEIF/AVIF header is truncated or corrupt ("


def readme_rows() -> dict[str, tuple[tuple[int, int], str, str]]:
    """file -> ((width, height), colour tag, bit depth), from the originals' README table."""
    rows = {}
    for line in (ORIGINALS / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        size = re.fullmatch(r"(\d+)x(\d+)", cells[2]) if len(cells) > 5 else None
        if size:
            rows[cells[0]] = ((int(size[1]), int(size[2])), cells[3], cells[4])
    return rows


def original(name: str | None) -> Path:
    path = ORIGINALS / (name or "")
    if name is None or not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.mark.parametrize("name", HEIC_ORIGINALS or [NO_ORIGINALS])
def test_real_heic_matches_pillow_heif_and_readme(name):
    path = original(name)
    data = path.read_bytes()
    header = read_heif_header(data)
    opened = pillow_heif.open_heif(path)
    size, colour, bits = readme_rows()[name]
    assert is_heif_or_avif(data)
    assert header.displayed_size == opened.size == size
    assert header.icc == opened.info["icc_profile"]
    profile = ImageCms.ImageCmsProfile(io.BytesIO(header.icc))
    assert re.fullmatch(r'ICC "(.*)"', colour)[1] in ImageCms.getProfileDescription(profile)
    assert header.bit_depth == opened.info["bit_depth"] == int(bits)
    assert header.has_alpha is opened.has_alpha is False
    assert header.item_type in ("hvc1", "grid")
    assert header.brand == "heic" and "mif1" in header.compatible


def test_real_heic_rotation_is_read_from_irot():
    path = original("athameem_991825f7-2cd0-444f-86f6-5815a4330948.HEIC")
    header = read_heif_header(path.read_bytes())
    assert (header.width, header.height, header.rotation) == (4032, 3024, 270)
    assert header.displayed_size == (3024, 4032)


def test_real_avif_matches_decoder_and_readme():
    data = original(AVIF_ORIGINAL).read_bytes()
    header = read_heif_header(data)
    assert header.displayed_size == imagecodecs.avif_decode(data).shape[1::-1]
    assert header.displayed_size == readme_rows()[AVIF_ORIGINAL][0]
    assert (header.brand, header.item_type, header.bit_depth) == ("avif", "av01", 8)
    assert header.icc is None and not header.has_alpha
    # P3 primaries, sRGB transfer, BT.601 matrix as the README says. The README's "limited" range
    # is not what the file says: colr ends in 0x80 (full_range_flag = 1), as does the AV1
    # sequence header (color_range = 1).
    assert header.nclx == (12, 13, 6, True)


AVIF_CASES = [  # dtype, bits, channels, encoder colour arguments, expected nclx (None: any)
    (np.uint8, 8, 3, {}, None),
    (np.uint8, 8, 4, {}, None),
    (np.uint16, 10, 3, {}, None),
    (np.uint16, 12, 4, {}, None),
    (np.uint16, 10, 4, {"primaries": 9, "transfer": 16, "matrix": 9}, (9, 16, 9)),
    (np.uint16, 12, 3, {"primaries": 9, "transfer": 16, "matrix": 9}, (9, 16, 9)),
]


@pytest.mark.parametrize(("dtype", "bits", "channels", "colour", "nclx"), AVIF_CASES)
def test_written_avif(dtype, bits, channels, colour, nclx):
    pixels = np.random.default_rng(bits).integers(0, 2**bits, (23, 37, channels)).astype(dtype)
    arguments = {"bitspersample": bits} if dtype is np.uint16 else {}
    data = imagecodecs.avif_encode(pixels, level=50, **arguments, **colour)
    header = read_heif_header(data)
    assert is_heif_or_avif(data) and header.brand == "avif" and header.item_type == "av01"
    assert header.displayed_size == (37, 23) == imagecodecs.avif_decode(data).shape[1::-1]
    assert (header.bit_depth, header.has_alpha) == (bits, channels == 4)
    if nclx is not None:
        assert header.nclx[:3] == nclx


def write_heic(mode: str, channels: int, **options) -> bytes:
    dtype = np.uint16 if mode.endswith(";16") else np.uint8
    pixels = np.full((23, 37, channels), 200, dtype)
    image = pillow_heif.from_bytes(mode=mode, size=(37, 23), data=pixels.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="HEIF", quality=-1, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(("mode", "channels", "bits"), [("RGB", 3, 8), ("RGBA;16", 4, 10)])
def test_written_heic_with_icc(mode, channels, bits):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = write_heic(mode, channels, icc_profile=icc)
    header = read_heif_header(data)
    opened = pillow_heif.open_heif(io.BytesIO(data))
    assert header.icc == icc == opened.info["icc_profile"]
    assert header.displayed_size == opened.size == (37, 23)
    assert header.crop == (37, 23) and (header.width, header.height) >= (37, 23)  # libheif pads
    assert (header.bit_depth, header.has_alpha) == (bits, channels == 4)


def test_written_heic_with_nclx():
    nclx = {"color_primaries": 9, "transfer_characteristics": 16, "matrix_coefficients": 9}
    data = write_heic("RGB", 3, nclx_profile={**nclx, "full_range_flag": 1})
    header = read_heif_header(data)
    assert header.nclx == (9, 16, 9, True) and header.icc is None
    written = pillow_heif.open_heif(io.BytesIO(data)).info["nclx_profile"]
    assert header.nclx[:3] == tuple(written[key] for key in nclx)


# --- Hand-built headers for the layouts the encoders above never write ------------------------


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags), *payload)


def large(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4sQ", 1, kind, 16 + len(body)) + body


def infe(item_id: int, item_type: bytes) -> bytes:
    return full(b"infe", 3, 0, struct.pack(">IH4s", item_id, 0, item_type), b"\0")


def build(*, grid: bool = False, meta=box, tail: bytes = b"") -> bytes:
    """Primary 70000 (32-bit ids), alpha item 70001, tile 70002; ipma v1 with 2-byte indices."""
    primary, alpha, tile = 70000, 70001, 70002
    icc = b"not really an icc profile"
    properties = [
        full(b"ispe", 0, 0, struct.pack(">II", 640, 480)),  # 1
        box(b"irot", b"\x01"),  # 2
        box(b"imir", b"\x01"),  # 3
        box(b"colr", b"nclx", struct.pack(">HHHB", 9, 16, 9, 0)),  # 4
        box(b"colr", b"prof", icc),  # 5
        full(b"pixi", 0, 0, b"\x03\x0a\x0c\x0a"),  # 6
        full(b"auxC", 0, 0, b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha\0"),  # 7
    ]
    colour = [] if grid else [4, 5, 6]
    associations = [(primary, [0x8001, 2, 3, *colour]), (alpha, [7]), (tile, [4, 5, 6])]
    ipma = b"".join(
        struct.pack(f">IB{len(indices)}H", item, len(indices), *indices)
        for item, indices in associations
    )
    references = [(b"auxl", alpha, [primary]), (b"dimg", primary, [tile, tile])]
    iref = b"".join(
        box(kind, struct.pack(f">IH{len(to)}I", source, len(to), *to))
        for kind, source, to in references
    )
    items = [infe(primary, b"grid" if grid else b"hvc1"), infe(alpha, b"hvc1"), infe(tile, b"hvc1")]
    return (
        box(b"ftyp", b"mif1\0\0\0\0msf1heix")
        + meta(
            b"meta",
            b"\0\0\0\0",
            full(b"hdlr", 0, 0, b"\0\0\0\0pict", bytes(13)),
            full(b"pitm", 1, 0, struct.pack(">I", primary)),
            full(b"iinf", 1, 0, struct.pack(">I", len(items)), *items),
            full(b"iref", 1, 0, iref),
            box(
                b"iprp", box(b"ipco", *properties), full(b"ipma", 1, 1, struct.pack(">I", 3), ipma)
            ),
        )
        + tail
    )


@pytest.mark.parametrize("grid", [False, True])
def test_built_header_with_32_bit_ids_and_2_byte_indices(grid):
    header = read_heif_header(build(grid=grid, meta=large, tail=struct.pack(">I4s", 0, b"mdat")))
    assert header == HeifHeader(
        brand="mif1",
        compatible=("msf1", "heix"),
        item_type="grid" if grid else "hvc1",
        width=640,
        height=480,
        rotation=90,
        mirror=1,
        crop=None,
        nclx=(9, 16, 9, False),
        icc=b"not really an icc profile",
        bit_depth=12,
        has_alpha=True,
    )
    assert header.displayed_size == (480, 640)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8\xff\xe0" + bytes(60), box(b"ftyp", b"isom\0\0\0\0mp41avc1") + box(b"mdat")],
)
def test_not_heif(data):
    assert not is_heif_or_avif(data)
    with pytest.raises(GamutError, match="^not a HEIF or AVIF file$"):
        read_heif_header(data)


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        (b"ispe", b"ispf", "primary item 70000 has no 'ispe'"),
        (b"hdlr", b"hdlx", "no 'hdlr' box in 'meta'"),
        (b"pict", b"vide", "'meta' handler is 'vide'"),
        (b"pitm\1\0\0\0\0\1\x11\x70", b"pitm\1\0\0\0\0\0\0\5", "primary item 5 has no 'infe'"),
        (
            struct.pack(">IB", 70001, 1),
            struct.pack(">IB", 70000, 1),
            "70000 appears twice in 'ipma'",
        ),
        (struct.pack(">H", 0x8001), struct.pack(">H", 0x8009), "property index 9 beyond the 7"),
        (b"\3\x0a\x0c\x0a", b"\x09\x0a\x0c\x0a", "runs past the end of its box"),
        (b"ipco", b"ipcx", "'iprp' lacks its 'ipco' or 'ipma' box"),
    ],
)
def test_built_header_damage(old, new, detail):
    data = build()
    assert data.count(old) == 1
    with pytest.raises(GamutError) as raised:
        read_heif_header(data.replace(old, new))
    assert str(raised.value).startswith(CORRUPT) and detail in str(raised.value)


def test_self_references_do_not_loop():
    primary = struct.pack(">I", 70000)
    data = build(grid=True).replace(
        struct.pack(">I", 70001) + b"\0\1" + primary, primary + b"\0\1" + primary
    )
    data = data.replace(primary + b"\0\2" + struct.pack(">I", 70002), primary + b"\0\2" + primary)
    header = read_heif_header(data)
    assert not header.has_alpha and header.nclx is None and header.item_type == "grid"


# --- Damage: whatever the bytes, a header or a GamutError, and quickly -----------------------


def box_offsets(data: bytes, start: int, end: int, depth: int = 0) -> list[int]:
    """Offsets of every box header in the parts of the tree the reader walks."""
    offsets, pos = [], start
    while pos + 8 <= end and depth < 4:
        size, kind = struct.unpack_from(">I4s", data, pos)
        size = struct.unpack_from(">Q", data, pos + 8)[0] if size == 1 else size or end - pos
        offsets.append(pos)
        skip = {
            b"meta": 12,
            b"iprp": 8,
            b"ipco": 8,
            b"iref": 12,
            b"iinf": 12 + 2 * (data[pos + 8] > 0),
        }
        if kind in skip:
            offsets += box_offsets(
                data, pos + skip[kind] + (8 if size == 1 else 0), pos + size, depth + 1
            )
        pos += size
    return offsets


def damaged_copies(data: bytes, rng: random.Random) -> list[bytes]:
    offsets = box_offsets(data, 0, len(data))
    header_end = max(offsets) + 64
    copies = [data[: rng.randrange(header_end)] for _ in range(120)]
    for _ in range(120):
        flipped = bytearray(data[:header_end])
        for _ in range(rng.randint(1, 3)):
            flipped[rng.choice(offsets) + rng.randrange(8)] ^= 1 << rng.randrange(8)
        copies.append(bytes(flipped))
    for offset in offsets:
        for size in (0, 1, 7, 9, 0x7FFFFFFF, 0xFFFFFFFF):
            copies.append(data[:offset] + struct.pack(">I", size) + data[offset + 4 : header_end])
    for _ in range(60):
        noisy = bytearray(data[:header_end])
        start = rng.randrange(len(noisy))
        noisy[start : start + 16] = rng.randbytes(16)
        copies.append(bytes(noisy))
    return copies


@pytest.mark.parametrize("source", ["avif", "heic", "built", "real"])
def test_damaged_headers_raise_gamut_error_or_parse(source):
    rng = random.Random(20240607)
    pixels = np.full((23, 37, 4), 100, np.uint8)
    data = {
        "avif": lambda: imagecodecs.avif_encode(pixels, level=50),
        "heic": lambda: write_heic("RGB", 3, icc_profile=b"\0" * 300),
        "built": build,
        "real": lambda: original("athameem_991825f7-2cd0-444f-86f6-5815a4330948.HEIC").read_bytes(),
    }[source]()
    slowest = 0.0
    for copy in damaged_copies(data, rng):
        started = time.perf_counter()
        try:
            read_heif_header(copy)
        except GamutError as error:
            message = str(error)
            assert message == "not a HEIF or AVIF file" or message.startswith(CORRUPT), message
            assert "\n" not in message
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.2  # the worst input here takes ~5 ms; a runaway loop would take seconds


def test_counts_are_capped():
    many_boxes = box(b"ftyp", b"avif\0\0\0\0") + box(b"free") * 70_000 + box(b"meta")
    with pytest.raises(GamutError, match="more than 65536 boxes"):
        read_heif_header(many_boxes)
    huge_ipma = build().replace(b"ipma\x01\0\0\x01\0\0\0\x03", b"ipma\x01\0\0\x01\xff\xff\xff\xff")
    with pytest.raises(GamutError, match="'ipma' declares 4294967295 items"):
        read_heif_header(huge_ipma)
