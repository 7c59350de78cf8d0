#!/usr/bin/env node
// The Node runtime's verdicts on carrier files, for bench/fuzz_maps.py and the map fuzz test:
// node test/map-verdicts.js FILE... prints one JSON line per file: verdict (applied, ignored
// or error), warnings or message, and the restored float32 values as hex.

import { readFileSync } from 'node:fs';

import { GamutError, restore } from '../index.js';

for (const file of process.argv.slice(2)) {
  let line;
  try {
    const restored = await restore(readFileSync(file));
    const bytes = new Uint8Array(restored.data.buffer, restored.data.byteOffset,
      restored.data.byteLength);
    line = {
      file,
      verdict: restored.residualMap ? 'applied' : 'ignored',
      warnings: restored.warnings,
      data: Buffer.from(bytes).toString('hex'),
    };
  } catch (err) {
    if (!(err instanceof GamutError)) throw err;
    line = { file, verdict: 'error', message: err.message };
  }
  // Each line flushed before the next: the exit below (worker threads keep Node alive) would
  // cut a pipe's pending writes short.
  await new Promise((done) => process.stdout.write(`${JSON.stringify(line)}\n`, done));
}
process.exit(0);
