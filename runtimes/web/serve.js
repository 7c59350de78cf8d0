// A tiny static server for the page: serves runtimes/ (the page and the shared modules in
// ../node/lib) and, as /graph/restore.onnx, /graph/grids.onnx and /graph/output.onnx, the Python
// package's three graphs, on 127.0.0.1 only.
// `npm start` or `node serve.js [port]` (default 8321).
// Cross-origin isolation headers let onnxruntime-web use WebAssembly threads where it wants them.

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The graphs' one copy in the repo (the Python package ships them; npm pack copies them).
const GRAPH_DIR = resolve(ROOT, '..', 'src', 'gamut_onnx', 'runtime');
const GRAPHS = new Map(
  ['restore', 'grids', 'output'].map((name) => [
    `/graph/${name}.onnx`,
    join(GRAPH_DIR, `${name}.onnx`),
  ]),
);
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

function handle(req, res) {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const graph = GRAPHS.get(path);
  let file = graph ?? resolve(ROOT, '.' + path);
  if (path.endsWith('/')) file = join(file, 'index.html');
  let size = -1;
  try {
    const stat = graph || file.startsWith(ROOT + sep) ? statSync(file) : null;
    if (stat?.isFile()) size = stat.size;
  } catch {
    // not found
  }
  if (size < 0 || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': size,
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/** Start serving; resolves with the server and the page's URL. */
export function serve(port = 0) {
  const server = createServer(handle);
  return new Promise((done) => {
    server.listen(port, '127.0.0.1', () => {
      done({ server, url: `http://127.0.0.1:${server.address().port}/web/` });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url } = await serve(Number(process.argv[2] ?? 8321));
  console.log(`gamut-onnx restore page: ${url}`);
}
