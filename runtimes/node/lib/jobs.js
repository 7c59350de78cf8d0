// What a worker of lib/pool.js does with its jobs, on any onnxruntime JavaScript build: load a
// graph ('open'), keep the feeds many runs share ('bind', 'release'), run a graph ('run'), decode
// the residual map's AVIF ('avif'). The platform's worker (Node: lib/worker.js; the page:
// runtimes/web/worker.js) loads the libraries and carries the messages. Shared by Node and the
// browser page.

// Shared memory where browsers have it (cross-origin isolated pages and their workers); not in
// Node, whose onnxruntime refuses tensors over it.
const SHARED = globalThis.crossOriginIsolated === true;

/**
 * @typedef {object} JobLibraries what a platform's worker loads, each on first use
 * @property {() => Promise<object>} onnxruntime the onnxruntime module, set for one thread
 * @property {object} sessionOptions InferenceSession options (one intra-op thread)
 * @property {(bytes: Uint8Array) => Promise<{width: number, height: number,
 *   data: Uint8ClampedArray}>} decodeAvif RGBA samples (@jsquash/avif)
 */

/**
 * The job handler of one worker.
 * @param {JobLibraries} libraries
 * @returns {(job: object) => Promise<Record<string, {type: string, data: any, dims: number[]}>
 *   |undefined>} a run's outputs (or the AVIF's samples as `image`), nothing for the others
 */
export function jobHandler({ onnxruntime, sessionOptions, decodeAvif }) {
  const sessions = new Map(); // graph path -> Promise<InferenceSession>
  const bound = new Map(); // bind id -> the feeds shared by its runs

  async function tensors(feeds) {
    const ort = await onnxruntime();
    return Object.fromEntries(
      Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]),
    );
  }

  async function open(path) {
    if (!sessions.has(path)) {
      const ort = await onnxruntime();
      sessions.set(path, ort.InferenceSession.create(path, sessionOptions));
    }
    return sessions.get(path);
  }

  /**
   * The AVIF's samples as H*W*3 RGB (lib/residualmap.js checked its header first), in shared
   * memory where there is any: every restore run reads its tile of them (lib/pool.js).
   */
  async function avif(bytes) {
    const { width, height, data } = await decodeAvif(bytes);
    const size = width * height * 3;
    const rgb = new Uint8Array(SHARED ? new SharedArrayBuffer(size) : size);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgb[i] = data[j];
      rgb[i + 1] = data[j + 1];
      rgb[i + 2] = data[j + 2];
    }
    return { image: { type: 'uint8', data: rgb, dims: [height, width, 3] } };
  }

  return async (job) => {
    if (job.op === 'open') return void (await open(job.path));
    if (job.op === 'avif') return avif(job.bytes);
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
      Object.entries(result).map(([name, t]) => [
        name,
        { type: t.type, data: t.data, dims: t.dims },
      ]),
    );
  };
}

/** The buffers of a job's answer, to transfer rather than copy (shared ones go as they are). */
export function answerBuffers(result) {
  const buffers = result ? Object.values(result).map((t) => t.data.buffer) : [];
  return buffers.filter((buffer) => !(SHARED && buffer instanceof SharedArrayBuffer));
}
