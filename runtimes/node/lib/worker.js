// A worker thread of lib/pool.js: onnxruntime-node sessions on one core each, or the residual
// map's AVIF decoder. onnxruntime-node runs a session synchronously on the calling thread, so
// parallel tiles need threads of their own; single-threaded runs on small tiles also beat
// intra-op threads on large ones (the graph's table lookups and Sin gain little from them).
// Each kind of work loads its library on first use. Node only.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const sessions = new Map(); // graph path -> Promise<InferenceSession>
const bound = new Map(); // bind id -> the feeds shared by its runs
let ortReady = null;
let avifReady = null;

const onnxruntime = () => (ortReady ??= import('onnxruntime-node').then((m) => m.default));

async function tensors(feeds) {
  const ort = await onnxruntime();
  return Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]),
  );
}

async function open(path) {
  if (!sessions.has(path)) {
    const ort = await onnxruntime();
    const options = { graphOptimizationLevel: 'all', logSeverityLevel: 3, intraOpNumThreads: 1 };
    sessions.set(path, ort.InferenceSession.create(path, options));
  }
  return sessions.get(path);
}

/** The AVIF's samples as H*W*3 RGB (lib/residualmap.js checked its header first). */
async function decodeAvif(bytes) {
  avifReady ??= Promise.all([
    import('@jsquash/avif/decode.js'),
    WebAssembly.compile(readFileSync(require.resolve('@jsquash/avif/codec/dec/avif_dec.wasm'))),
  ]).then(async ([avif, module]) => {
    await avif.init(module, { print() {}, printErr() {} });
    return avif.default;
  });
  const { width, height, data } = await (await avifReady)(bytes);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = data[j];
    rgb[i + 1] = data[j + 1];
    rgb[i + 2] = data[j + 2];
  }
  return { image: { type: 'uint8', data: rgb, dims: [height, width, 3] } };
}

async function handle(job) {
  if (job.op === 'open') return void (await open(job.path));
  if (job.op === 'avif') return decodeAvif(job.bytes);
  if (job.op === 'bind') {
    const feeds = tensors(job.feeds);
    bound.set(job.bind, feeds); // set now: runs that follow wait for the same promise
    return void (await feeds);
  }
  if (job.op === 'release') return void bound.delete(job.bind);
  // op 'run': the bound feeds (taken before any await: a release may follow) plus its own
  const shared = job.bind ? bound.get(job.bind) : {};
  const session = await open(job.path);
  const feeds = { ...(await shared), ...(await tensors(job.feeds)) };
  const result = await session.run(feeds, job.fetches);
  return Object.fromEntries(
    Object.entries(result).map(([name, t]) => [name, { type: t.type, data: t.data, dims: t.dims }]),
  );
}

parentPort.on('message', (job) => {
  handle(job).then(
    (result) => {
      const buffers = result ? Object.values(result).map((t) => t.data.buffer) : [];
      parentPort.postMessage({ id: job.id, result }, buffers);
    },
    (err) => parentPort.postMessage({ id: job.id, error: String(err?.message ?? err) }),
  );
});
