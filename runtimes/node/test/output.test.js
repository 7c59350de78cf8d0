// Output through output.onnx (docs/blob-format.md §6.3): lib/spaces.js's inputs against the
// reference writer's (gamut_onnx.runtime.output.named_output) and the codes of a few values.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { encode } from '../index.js';
import { outputSpace, SPACE_NAMES } from '../lib/spaces.js';

const PYTHON = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));
const noVenv = !existsSync(PYTHON) && 'no .venv';
const bits = (values) => Array.from(new Uint32Array(Float32Array.from(values).buffer));

test("the named spaces' matrix, curve and OOTF are the reference writer's, bit for bit", {
  skip: noVenv,
}, async () => {
  const script = `
import json, sys
import numpy as np
from gamut_onnx.colour.spaces import named_space
from gamut_onnx.runtime.output import named_output
out = {}
for name in sys.argv[1:]:
    o = named_output(named_space(name))
    out[name] = [o.matrix.ravel().view(np.uint32).tolist(), list(o.curve.shape),
                 o.curve.ravel().view(np.uint32).tolist(), o.ootf.view(np.uint32).tolist()]
print(json.dumps(out))`;
  const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, ...SPACE_NAMES], {
    maxBuffer: 1 << 24,
  });
  for (const [name, [matrix, shape, curve, ootf]] of Object.entries(JSON.parse(stdout))) {
    const space = outputSpace(name);
    assert.deepEqual(bits(space.matrix), matrix, `${name} matrix`);
    assert.deepEqual([3, space.samples], shape, `${name} curve shape`);
    assert.deepEqual(bits(space.curve), curve, `${name} curve`);
    assert.deepEqual(bits(space.ootf), ootf, `${name} ootf`);
  }
});

test('codes: white, black, the ROMM knee and a P3 primary', async () => {
  const data = Float32Array.of(1, 1, 1, 0, 0, 0, 1 / 512, 0.25, 1, 0.5, 0.2, 0.1);
  const image = { width: 4, height: 1, data };
  const romm = await encode(image, 'prophoto');
  const curve = (x) => (x < 1 / 512 ? 16 * x : x ** (1 / 1.8));
  // Linear interpolation in x^(1/4) between table samples: within one code of the curve.
  for (let i = 0; i < data.length; i++) {
    assert.ok(Math.abs(romm[i] - curve(data[i]) * 65535) <= 1, `${i}: ${romm[i]}`);
  }
  assert.deepEqual(Array.from(romm.subarray(0, 6)), [65535, 65535, 65535, 0, 0, 0]);
  const p3 = await encode(image, 'display-p3', { bits: 8 });
  assert.deepEqual(Array.from(p3.subarray(0, 6)), [255, 255, 255, 0, 0, 0]);
  assert.ok(p3.every((v) => v <= 255));
  await assert.rejects(encode(image, 'rec2020'), /unknown output space rec2020/);
  await assert.rejects(encode(image, 'srgb', { bits: 17 }), /bits must be 8 to 16/);
});
