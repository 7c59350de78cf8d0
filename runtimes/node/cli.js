#!/usr/bin/env node
// gamut-onnx-restore IN OUT.tif [--strict] [--max-pixels N]: the Node twin of
// `gamut-onnx decode IN -o OUT.tif --space prophoto` (reads blob formats 1 to 3). As there, a
// damaged model gives the plain sRGB photo and one warning unless --strict, and a file without
// a usable model takes the model of its sidecar IN.gamut when there is one.
// Exit codes as the Python CLI: 0 done, 1 bad input (one line on stderr, no output file), 2 usage.

import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { GamutError, restoreTiff } from './index.js';
import { MAX_SIDECAR_BYTES, SIDECAR_SUFFIX } from './lib/sidecar.js';

const USAGE =
  'usage: gamut-onnx-restore IN.(png|tif|jpg) OUT.tif [--strict] [--max-pixels N]\n' +
  '  --strict        fail instead of warning (no model, a damaged model, edited pixels)\n' +
  '  --max-pixels N  refuse larger images (default: GAMUT_ONNX_MAX_PIXELS, else 250000000)\n' +
  'IN.gamut beside IN (gamut-onnx detach) is used when IN holds no usable model.';

async function main(argv) {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  let strict = false;
  let maxPixels;
  const paths = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--strict') strict = true;
    else if (argv[i] === '--max-pixels' && /^[0-9]+$/.test(argv[i + 1] ?? '')) {
      maxPixels = Number(argv[++i]);
    } else paths.push(argv[i]);
  }
  if (paths.length !== 2 || paths.some((p) => p.startsWith('-')) || maxPixels === 0) {
    console.error(USAGE);
    return 2;
  }
  const [input, output] = paths;
  const started = performance.now();
  let bytes;
  try {
    bytes = readFileSync(input);
  } catch (err) {
    throw new GamutError(`cannot read ${input}: ${err.code ?? err.message}`);
  }
  const sidecar = readSidecarFile(input + SIDECAR_SUFFIX);
  const restored = await restoreTiff(bytes, { strict, maxPixels, fallback: !strict, sidecar });
  for (const warning of restored.warnings) console.error(`warning: ${warning}`);
  // Temp file + rename: a failure never leaves a half-written OUT behind.
  const temp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, restored.tiff);
    renameSync(temp, output);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new GamutError(`cannot write ${output}: ${err.code ?? err.message}`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const how = {
    none: 'expanded (no model)',
    ignored: 'expanded (damaged model ignored)',
    sidecar: 'restored from its sidecar',
  }[restored.model] ?? 'restored';
  const map = restored.residualMap ? ' with its residual map' : '';
  console.log(`${output}: ${restored.width}x${restored.height} ${how}${map} in ${seconds} s (cpu)`);
  return 0;
}

/** The sidecar's bytes when the file exists (its size checked before reading), else null. */
function readSidecarFile(path) {
  let size;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  if (size > MAX_SIDECAR_BYTES) {
    throw new GamutError(`${path}: ${size} bytes is too large for a gamut-onnx sidecar`);
  }
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GamutError(`cannot read ${path}: ${err.code ?? err.message}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // Bad input gets one line; anything else is a bug and keeps its stack.
  if (!(err instanceof GamutError)) throw err;
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
}
