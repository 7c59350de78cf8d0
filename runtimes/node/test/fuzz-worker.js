// Fuzz worker for the Node runtime (driven by fuzz.test.js and bench/fuzz.py --node).
//
// Reads one JSON job per line on stdin, {id, file, declared: [width, height] | null} (or
// {id, canary: true}: restore the good carriers now), runs
// restore() and inspect() of ../index.js on the file's bytes and answers one line on stdout:
// "\x1e" + JSON {id, status: ok|refused|error, message, findings: [[kind, detail]], ms,
// maxRssMb}. The oracle: restore resolves with finite Float32Array data in [0, 1] of
// width*height*3 values (the size the header declares), or rejects with the package's
// GamutError whose message is one line; inspect resolves or rejects the same way. Anything else
// is a finding. Every CANARY_EVERY cases, good carriers must still restore (a failure that
// poisons a decoder, e.g. a WebAssembly abort, shows up there).

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { GamutError, inspect, restore } from '../index.js';

const VECTORS = fileURLToPath(new URL('../../../tests/conformance/vectors/', import.meta.url));
const CANARIES = ['png_gated_fp16.png', 'tiff_alpha_fp32_w16.tif', 'jpeg_q90_gated.jpg'];
const CANARY_EVERY = 250;
const MAX_MESSAGE = 1000;
const MARK = '\x1e';

const oneLine = (m) =>
  typeof m === 'string' && m.trim() !== '' && !/[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/.test(m);

/** Where an error came from: the innermost frame in this package or its dependencies. */
function where(err) {
  const stack = String(err?.stack ?? '');
  for (const line of stack.split('\n').slice(1)) {
    const m = /(?:\(|at )(?:file:\/\/)?([^()]*?):(\d+):\d+\)?$/.exec(line.trim());
    if (!m) continue;
    const file = m[1];
    const short = file.includes('node_modules/')
      ? file.slice(file.lastIndexOf('node_modules/') + 13)
      : file.split('/').slice(-2).join('/');
    return `@${short}:${m[2]}`;
  }
  return '';
}

function rejection(stage, err, findings) {
  if (err instanceof GamutError && err.name === 'GamutError') {
    const message = err.message;
    if (!oneLine(message)) {
      findings.push([`${stage}:message-not-one-line`, JSON.stringify(message).slice(0, 500)]);
    } else if (message.length > MAX_MESSAGE) {
      findings.push([`${stage}:long-message`, `${message.length} chars`]);
    }
    return { status: 'refused', message };
  }
  const type = err?.constructor?.name ?? typeof err;
  findings.push([`${stage}:exception:${type}${where(err)}`, String(err?.stack ?? err).slice(0, 3000)]);
  return { status: 'error', message: String(err?.message ?? err).split('\n')[0] };
}

function checkRestored(r, declared, findings) {
  const { width, height, data } = r ?? {};
  if (!(data instanceof Float32Array)) {
    findings.push(['restore:result-type', `${data?.constructor?.name}`]);
    return;
  }
  const sizeOk = Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0;
  if (!sizeOk || data.length !== width * height * 3) {
    findings.push(['restore:result-size', `${width}x${height} with ${data.length} values`]);
  }
  if (declared && (declared[0] !== width || declared[1] !== height)) {
    findings.push(['restore:size-vs-header', `header ${declared.join('x')}, pixels ${width}x${height}`]);
  }
  let bad = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) bad++;
    else {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (bad) findings.push(['restore:non-finite', `${bad} NaN/inf values`]);
  else if (data.length && (lo < 0 || hi > 1)) {
    findings.push(['restore:out-of-range', `values in [${lo}, ${hi}]`]);
  }
  if (r.alpha && r.alpha.length !== width * height) {
    findings.push(['restore:alpha', `${r.alpha.length} alpha values for ${width}x${height}`]);
  }
  for (const w of r.warnings ?? []) {
    if (!oneLine(w)) findings.push(['restore:warning-not-one-line', JSON.stringify(w)]);
  }
}

async function check(bytes, declared) {
  const findings = [];
  let status = 'ok';
  let message = '';
  let mapIgnored = false; // a map bomb is refused by losing the map (as bomb_check.py counts it)
  try {
    const restored = await restore(bytes);
    checkRestored(restored, declared, findings);
    mapIgnored = restored.warnings.some((w) => w.startsWith('residual map ignored'));
  } catch (err) {
    ({ status, message } = rejection('restore', err, findings));
  }
  try {
    const info = await inspect(bytes);
    if (typeof info !== 'object' || info === null) findings.push(['inspect:result', String(info)]);
  } catch (err) {
    const r = rejection('inspect', err, findings);
    if (r.status === 'refused' && status === 'ok') {
      findings.push(['inspect:refused-a-decodable-file', r.message.slice(0, 500)]);
    }
  }
  return { status, message, findings, mapIgnored };
}

async function canary() {
  const out = [];
  for (const name of CANARIES) {
    try {
      await restore(readFileSync(VECTORS + name));
    } catch (err) {
      out.push(['poisoned-state', `${name}: ${String(err?.message ?? err).slice(0, 300)}`]);
    }
  }
  return out;
}

let done = 0;
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const job = JSON.parse(line);
  if (job.canary) {
    const findings = await canary();
    process.stdout.write(MARK + JSON.stringify({ id: job.id, status: 'ok', findings }) + '\n');
    continue;
  }
  const bytes = new Uint8Array(readFileSync(job.file));
  const start = performance.now();
  const res = await check(bytes, job.declared);
  res.ms = performance.now() - start;
  done++;
  if (done % CANARY_EVERY === 0) res.findings.push(...(await canary()));
  res.id = job.id;
  res.maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(MARK + JSON.stringify(res) + '\n');
}
