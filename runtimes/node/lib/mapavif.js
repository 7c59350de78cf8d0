// The residual map's AVIF checked against its profile (docs/blob-format.md §9) from its boxes
// and its AV1 sequence header, before any decoder sees it: 8-bit, 4:4:4, identity matrix, full
// range, three channels, one frame, exactly the carrier's size, laid out as libavif writes one
// (ftyp, meta, mdat; one item whose data is the whole mdat). The twin of
// src/gamut_onnx/container/map_avif.py: the same checks in the same order, the same words.

import { readStream } from './av1.js';
import { GamutError } from './blob.js';

const HEIF_BRANDS = new Set(
  'heic heix hevc heim heis hevm hevs mif1 msf1 avif avis'.split(' '),
);
const fail = (detail) => new GamutError(`residual map's AVIF ${detail}`);
const corrupt = (detail) => new GamutError(`HEIF/AVIF header is truncated or corrupt (${detail})`);
const ascii = (bytes) => String.fromCharCode(...bytes);

/** A box type for a message: its letters when printable, else hex (as the reference). */
function boxName(bytes) {
  const printable = [...bytes].every((b) => b >= 0x20 && b < 0x7f && b !== 0x27);
  return printable ? ascii(bytes) : [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The boxes laid end to end in bytes[start, end): {type, name, start (payload), end}. */
function boxes(bytes, start, end, where) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let pos = start; pos < end; ) {
    if (end - pos < 8) throw corrupt(`${end - pos} stray bytes at offset ${pos} in ${where}`);
    let size = dv.getUint32(pos);
    const raw = bytes.subarray(pos + 4, pos + 8);
    let head = 8;
    if (size === 1) {
      if (pos + 16 > end) throw corrupt(`field at offset ${pos + 8} runs past the end of its box`);
      size = Number(dv.getBigUint64(pos + 8));
      head = 16;
    } else if (size === 0) size = end - pos;
    if (size < head || size > end - pos) {
      throw corrupt(
        `'${boxName(raw)}' box at offset ${pos} declares ${size} bytes, ${end - pos} remain in ${where}`,
      );
    }
    out.push({ type: ascii(raw), name: boxName(raw), start: pos + head, end: pos + size });
    pos += size;
  }
  return out;
}

/** Reads big-endian fields of a box, failing past its end. */
function reader(bytes, box) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (pos, n) => {
    if (pos < box.start || pos + n > box.end) {
      throw corrupt(`field at offset ${pos} runs past the end of its box`);
    }
  };
  return {
    u8: (pos) => (need(pos, 1), dv.getUint8(pos)),
    u16: (pos) => (need(pos, 2), dv.getUint16(pos)),
    u32: (pos) => (need(pos, 4), dv.getUint32(pos)),
    u64: (pos) => (need(pos, 8), Number(dv.getBigUint64(pos))),
  };
}

function childMap(bytes, box, where, skip = 0) {
  const found = {};
  for (const b of boxes(bytes, box.start + skip, box.end, where)) found[b.type] ??= b;
  return found;
}

/** item id -> item type from `infe` versions 2 and 3 (the reference counts only those). */
function itemTypes(bytes, iinf) {
  const r = reader(bytes, iinf);
  const version = r.u8(iinf.start);
  const first = iinf.start + 4 + (version === 0 ? 2 : 4);
  const types = new Map();
  for (const infe of boxes(bytes, first, iinf.end, "'iinf'")) {
    if (infe.type !== 'infe') continue;
    const e = reader(bytes, infe);
    const v = e.u8(infe.start);
    if (v === 2 && !types.has(e.u16(infe.start + 4))) {
      types.set(e.u16(infe.start + 4), ascii(bytes.subarray(infe.start + 8, infe.start + 12)));
    } else if (v === 3 && !types.has(e.u32(infe.start + 4))) {
      types.set(e.u32(infe.start + 4), ascii(bytes.subarray(infe.start + 10, infe.start + 14)));
    }
  }
  return types;
}

/** The primary item's property boxes in association order. */
function properties(bytes, iprp, item) {
  let ipco = null;
  const ipmas = [];
  for (const b of boxes(bytes, iprp.start, iprp.end, "'iprp'")) {
    if (b.type === 'ipco' && !ipco) ipco = b;
    else if (b.type === 'ipma') ipmas.push(b);
  }
  if (!ipco || !ipmas.length) throw corrupt("'iprp' lacks its 'ipco' or 'ipma' box");
  const catalogue = boxes(bytes, ipco.start, ipco.end, "'ipco'");
  for (const ipma of ipmas) {
    const r = reader(bytes, ipma);
    const version = r.u8(ipma.start);
    const wide = r.u32(ipma.start) & 1;
    const entries = r.u32(ipma.start + 4);
    let pos = ipma.start + 8;
    for (let i = 0; i < entries; i++) {
      const id = version < 1 ? r.u16(pos) : r.u32(pos);
      pos += version < 1 ? 2 : 4;
      const count = r.u8(pos);
      pos += 1;
      const found = [];
      for (let k = 0; k < count; k++) {
        const index = (wide ? r.u16(pos) : r.u8(pos)) & (wide ? 0x7fff : 0x7f);
        pos += wide ? 2 : 1;
        if (index > catalogue.length) {
          throw corrupt(`property index ${index} beyond the ${catalogue.length} in 'ipco'`);
        }
        if (index) found.push(catalogue[index - 1]);
      }
      if (id === item) return found;
    }
  }
  return [];
}

/** The item's extents as file ranges [[start, length], ...] (construction method 0 only). */
function extents(bytes, iloc, item) {
  const r = reader(bytes, iloc);
  const version = r.u8(iloc.start);
  if (version > 2) throw corrupt(`'iloc' version ${version}`);
  const sizes = r.u16(iloc.start + 4);
  const [offsetSize, lengthSize, baseSize] = [sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15];
  const indexSize = version ? sizes & 15 : 0;
  const field = (pos, n) => {
    if (n === 0) return [0, pos];
    if (n !== 4 && n !== 8) throw corrupt(`'iloc' field of ${n} bytes`);
    return [n === 4 ? r.u32(pos) : r.u64(pos), pos + n];
  };
  let pos = iloc.start + 6;
  const count = version < 2 ? r.u16(pos) : r.u32(pos);
  pos += version < 2 ? 2 : 4;
  for (let i = 0; i < count; i++) {
    const id = version < 2 ? r.u16(pos) : r.u32(pos);
    pos += version < 2 ? 2 : 4;
    let method = 0;
    if (version) {
      method = r.u16(pos) & 15;
      pos += 2;
    }
    pos += 2;
    let base;
    [base, pos] = field(pos, baseSize);
    const n = r.u16(pos);
    pos += 2;
    const found = [];
    for (let k = 0; k < n; k++) {
      if (indexSize) [, pos] = field(pos, indexSize);
      let offset;
      let length;
      [offset, pos] = field(pos, offsetSize);
      [length, pos] = field(pos, lengthSize);
      found.push([base + offset, length]);
    }
    if (id === item) return { method, extents: found };
  }
  return null;
}

/**
 * Throw a one-line GamutError unless `avif` is a map AVIF of width x height (§9's profile).
 * @param {Uint8Array} avif
 */
export function checkMapAvif(avif, width, height) {
  const head = ascii(avif.subarray(4, 8));
  const sniff = avif.length >= 12 && head === 'ftyp';
  const top = sniff ? boxes(avif, 0, avif.length, 'the file') : [];
  const ftyp = top[0];
  const brand = ftyp ? ascii(avif.subarray(ftyp.start, ftyp.start + 4)) : '';
  const compatible = [];
  if (ftyp) {
    for (let i = ftyp.start + 8; i + 4 <= ftyp.end; i += 4) {
      compatible.push(ascii(avif.subarray(i, i + 4)));
    }
  }
  if (!sniff || !(HEIF_BRANDS.has(brand) || compatible.some((b) => HEIF_BRANDS.has(b)))) {
    throw fail('is not an AVIF image');
  }
  const meta = top.find((b) => b.type === 'meta');
  if (!meta) throw corrupt('no \'meta\' box: a cut-off file, or an image sequence with no still image');
  const children = childMap(avif, meta, "'meta'", 4);
  for (const required of ['hdlr', 'pitm', 'iinf', 'iprp']) {
    if (!children[required]) throw corrupt(`no '${required}' box in 'meta'`);
  }
  const pitm = children.pitm;
  const item = reader(avif, pitm).u8(pitm.start) === 0
    ? reader(avif, pitm).u16(pitm.start + 4)
    : reader(avif, pitm).u32(pitm.start + 4);
  const types = itemTypes(avif, children.iinf);
  const own = properties(avif, children.iprp, item);
  const ispe = own.find((b) => b.type === 'ispe');
  if (!types.has(item)) throw corrupt(`primary item ${item} has no 'infe' entry of version 2 or 3`);
  if (!ispe) throw corrupt(`primary item ${item} has no 'ispe' size property`);
  const [w, h] = [reader(avif, ispe).u32(ispe.start + 4), reader(avif, ispe).u32(ispe.start + 8)];
  if (w === 0 || h === 0) throw corrupt(`primary image size ${w}x${h}`);
  if (![brand, ...compatible].includes('avif') || brand === 'avis') {
    throw fail(`has brand '${brand}', not a still AVIF`);
  }
  if (types.get(item) !== 'av01' || w !== width || h !== height) {
    throw fail(`is ${types.get(item)} ${w}x${h}, not av01 ${width}x${height}`);
  }
  if (types.size !== 1) throw fail('holds more than one item (alpha, metadata or tiles)');
  checkLayout(avif, top, children, item);
  checkProperties(avif, own);
  const mdat = top.find((b) => b.type === 'mdat');
  const { header, frames } = readStream(avif.subarray(mdat.start, mdat.end));
  if (header.width !== width || header.height !== height) {
    throw fail(`codes a ${header.width}x${header.height} frame, not ${width}x${height}`);
  }
  const profile = header.depth === 8 && !header.monochrome && header.subsampling[0] === 0 &&
    header.subsampling[1] === 0 && header.matrix === 0 && header.fullRange;
  if (!profile) {
    throw fail('codes something other than 8-bit 4:4:4 identity-matrix full-range colour');
  }
  if (frames !== 1) throw fail(`holds ${frames} frames, not one`);
}

/** ftyp, meta, mdat and nothing else, and mdat is exactly the item's data. */
function checkLayout(avif, top, children, item) {
  const names = top.map((b) => b.type).sort();
  if (names.join() !== ['ftyp', 'mdat', 'meta'].join()) {
    const said = top.map((b) => b.name).join(', ').slice(0, 80);
    throw fail(`has the top-level boxes ${said} (expected ftyp, meta, mdat)`);
  }
  if (!children.iloc) throw corrupt("no 'iloc' box");
  const mdat = top.find((b) => b.type === 'mdat');
  const found = extents(avif, children.iloc, item);
  if (!found || found.method !== 0) throw fail("does not locate its item in 'mdat'");
  const [[start, length] = []] = found.extents;
  if (found.extents.length !== 1 || start !== mdat.start || length !== mdat.end - mdat.start) {
    throw fail("has data in 'mdat' beside its item's (or outside it)");
  }
}

/** pixi: 3 channels of 8 bits; av1C: 8-bit 4:4:4 colour; colr nclx: identity, full range. */
function checkProperties(avif, own) {
  const pixi = own.find((b) => b.type === 'pixi');
  if (!pixi) throw fail("has no 'pixi' (bits per channel) property");
  const r = reader(avif, pixi);
  const count = r.u8(pixi.start + 4);
  const bits = [];
  for (let i = 0; i < count; i++) bits.push(r.u8(pixi.start + 5 + i));
  if (bits.join() !== '8,8,8') {
    throw fail(`has ${count} channels of ${bits.join('/') || 'no'} bits, not 3 of 8`);
  }
  const av1c = own.find((b) => b.type === 'av1C');
  if (!av1c) throw fail("has no 'av1C' property");
  const flags = reader(avif, av1c).u8(av1c.start + 2);
  if (flags & 0b01111100) {
    throw fail(`is not 8-bit 4:4:4 colour (av1C flags 0x${flags.toString(16).padStart(2, '0')})`);
  }
  for (const colr of own.filter((b) => b.type === 'colr')) {
    if (ascii(avif.subarray(colr.start, colr.start + 4)) !== 'nclx') continue;
    const c = reader(avif, colr);
    const matrix = c.u16(colr.start + 8);
    const full = c.u8(colr.start + 10) & 0x80;
    if (matrix !== 0 || !full) throw fail(`has matrix ${matrix}, ${full ? 'full' : 'limited'} range`);
  }
}
