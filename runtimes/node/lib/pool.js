// Workers that run the graphs in parallel, one single-threaded onnxruntime session per graph and
// worker: Node's worker threads (lib/threads.js, lib/worker.js) or the page's Web Workers
// (runtimes/web/workers.js, worker.js); both answer the jobs of lib/jobs.js. A pool session
// looks like an InferenceSession to lib/restore.js and lib/output.js (`run(feeds, fetches)`,
// outputs with `data` and `dims`), so they keep several runs in flight; `bind` sends the feeds
// every tile shares once per worker. Another worker decodes the residual map's AVIF while the
// calling thread decodes the carrier. Shared by Node and the browser page.

/** Arrays their owner hands over: a run moves them to its worker instead of copying them. */
export const handedOver = new WeakSet();

const isShared = (buffer) =>
  typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;

/**
 * A tensor as a message carries it: a typed-array view of a larger buffer is cut to its bytes
 * (a message would copy the whole buffer) and that copy is transferred, not copied again; an
 * array handed over is transferred as it is; a view of shared memory is shared, not copied.
 */
function plainFeeds(feeds, transfer) {
  const out = {};
  for (const [name, { type, data, dims }] of Object.entries(feeds)) {
    if (isShared(data.buffer)) {
      out[name] = { type, data, dims };
      continue;
    }
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    const copy = whole ? data : data.slice();
    if (!whole || handedOver.has(data)) transfer.push(copy.buffer);
    out[name] = { type, data: copy, dims };
  }
  return out;
}

/**
 * @typedef {object} Port one worker as the pool drives it
 * @property {(message: object, transfer: ArrayBuffer[]) => void} post
 * @property {() => void} ref holds the process open while the worker has work (Node)
 * @property {() => void} unref
 * @property {() => unknown} terminate
 */

/**
 * Starts a worker that answers lib/jobs.js's jobs.
 * @callback Spawn
 * @param {(answer: {id: number, result?: object, error?: string}) => void} onAnswer
 * @param {(err: Error) => void} onFail the worker is lost: its jobs fail
 * @returns {Port}
 */

export class WorkerPool {
  /**
   * @param {number} size graph workers (one per core is what pays)
   * @param {Spawn} spawn the platform's workers
   */
  constructor(size, spawn) {
    this.size = Math.max(1, size);
    this.spawn = spawn;
    this.workers = [];
    this.jobs = 0;
    this.binds = 0;
    this.avifWorker = null;
  }

  /** A worker and the jobs it has not answered yet. */
  start() {
    const state = { port: null, pending: new Map() };
    const answer = ({ id, result, error }) => {
      const job = state.pending.get(id);
      state.pending.delete(id);
      if (!state.pending.size) state.port.unref();
      if (error === undefined) job.resolve(result);
      else job.reject(new Error(error));
    };
    const fail = (err) => {
      for (const job of state.pending.values()) job.reject(err);
      state.pending.clear();
      this.workers = this.workers.filter((w) => w !== state);
      if (this.avifWorker === state) this.avifWorker = null;
    };
    state.port = this.spawn(answer, fail);
    state.port.unref();
    return state;
  }

  /** The graph workers, started on first use. */
  all() {
    while (this.workers.length < this.size) this.workers.push(this.start());
    return this.workers;
  }

  /** Send `job` to one worker (the least busy unless given); resolves with its answer. */
  send(job, state = null, transfer = []) {
    const target =
      state ?? this.all().reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = ++this.jobs;
    return new Promise((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.port.ref();
      target.port.post({ ...job, id }, transfer);
    });
  }

  /** Every worker gets `job`. */
  broadcast(job) {
    return Promise.all(this.all().map((state) => this.send(job, state)));
  }

  /**
   * An InferenceSession-like runner of the graph at `path` (a file in Node, a URL in the page)
   * on the workers (each loads it with its first run, or on `warm`).
   * @param {string} path
   */
  session(path) {
    // `extra`: more fields of the job, for what a platform's worker adds (the page's RGBA).
    const run = (bind, feeds, fetches, extra) => {
      const transfer = [];
      const job = { ...extra, op: 'run', path, bind, feeds: plainFeeds(feeds, transfer), fetches };
      return this.send(job, null, transfer);
    };
    return {
      /** Start the workers and load the graph in each now, not with its first run there. */
      warm: () => this.broadcast({ op: 'open', path }),
      /** @returns {Promise<Record<string, {type: string, data: any, dims: number[]}>>} */
      run: (feeds, fetches, extra) => run(0, feeds, fetches, extra),
      /**
       * The feeds of many runs, sent once to every worker (messages keep their order, so the
       * runs need not wait for it).
       * @returns {{run: Function, release: () => Promise<void>}}
       */
      bind: (feeds) => {
        const bind = ++this.binds;
        this.broadcast({ op: 'bind', bind, feeds: plainFeeds(feeds, []) }).catch(() => {});
        return {
          run: (more, fetches, extra) => run(bind, more, fetches, extra),
          release: () => this.broadcast({ op: 'release', bind }).then(() => {}),
        };
      },
    };
  }

  /**
   * Send `job` to the side worker, which no graph run queues behind: the residual map's AVIF
   * (the graph workers start by loading their sessions, and the map is what the restore waits
   * for), and what a platform's worker does besides (the page's sRGB canvas).
   */
  aside(job, transfer = []) {
    this.avifWorker ??= this.start();
    return this.send(job, this.avifWorker, transfer);
  }

  /**
   * Decode an AVIF in a worker (the residual map, lib/residualmap.js).
   * @param {Uint8Array} bytes
   * @returns {Promise<{width: number, height: number, channels: 3, data: Uint8Array}>} RGB
   */
  async avif(bytes) {
    const { image } = await this.aside({ op: 'avif', bytes });
    return { width: image.dims[1], height: image.dims[0], channels: 3, data: image.data };
  }

  /** Stop the workers. */
  async close() {
    const workers = [...this.workers, ...(this.avifWorker ? [this.avifWorker] : [])];
    this.workers = [];
    this.avifWorker = null;
    await Promise.all(workers.map((state) => state.port.terminate()));
  }
}
