#!/usr/bin/env node
// gamut-onnx-restore IN OUT.tif [--strict] [--max-pixels N]: the Node twin of
// `gamut-onnx decode IN -o OUT.tif --space prophoto` (reads blob formats 1 and 2).
// Exit codes as the Python CLI: 0 done, 1 bad input (one line on stderr, no output file), 2 usage.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { GamutError, restoreTiff } from './index.js';

const USAGE =
  'usage: gamut-onnx-restore IN.(png|tif|jpg) OUT.tif [--strict] [--max-pixels N]\n' +
  '  --max-pixels N  refuse larger images (default: GAMUT_ONNX_MAX_PIXELS, else 250000000)';

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
  const restored = await restoreTiff(bytes, { strict, maxPixels });
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
  const how = restored.residualMap ? 'restored with its residual map' : 'restored';
  console.log(`${output}: ${restored.width}x${restored.height} ${how} in ${seconds} s (cpu)`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // Bad input gets one line; anything else is a bug and keeps its stack.
  if (!(err instanceof GamutError)) throw err;
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
}
