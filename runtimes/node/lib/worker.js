// A worker thread of lib/pool.js (lib/threads.js starts it): onnxruntime-node sessions on one
// core each, or the residual map's AVIF decoder (lib/jobs.js). onnxruntime-node runs a session
// synchronously on the calling thread, so parallel tiles need threads of their own;
// single-threaded runs on small tiles also beat intra-op threads on large ones (the graph's
// table lookups and Sin gain little from them). Each kind of work loads its library on first
// use. Node only.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

import { answerBuffers, jobHandler } from './jobs.js';

const require = createRequire(import.meta.url);
let ortReady = null;
let avifReady = null;

const handle = jobHandler({
  onnxruntime: () => (ortReady ??= import('onnxruntime-node').then((m) => m.default)),
  sessionOptions: { graphOptimizationLevel: 'all', logSeverityLevel: 3, intraOpNumThreads: 1 },
  // Node's fetch cannot read the decoder's .wasm from a file URL: hand it the module.
  async decodeAvif(bytes) {
    avifReady ??= Promise.all([
      import('@jsquash/avif/decode.js'),
      WebAssembly.compile(readFileSync(require.resolve('@jsquash/avif/codec/dec/avif_dec.wasm'))),
    ]).then(async ([avif, module]) => {
      await avif.init(module, { print() {}, printErr() {} });
      return avif.default;
    });
    return (await avifReady)(bytes);
  },
});

parentPort.on('message', (job) => {
  handle(job).then(
    (result) => parentPort.postMessage({ id: job.id, result }, answerBuffers(result)),
    (err) => parentPort.postMessage({ id: job.id, error: String(err?.message ?? err) }),
  );
});
