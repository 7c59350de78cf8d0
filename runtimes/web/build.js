#!/usr/bin/env node
// Build dist/: the drop-in (gamut-onnx-web.js) as plain files a site serves from one folder, no
// import map or bundler needed. Our modules are copied as they are, with their imports pointed
// at the copies (../node/lib -> lib/, the libraries -> vendor/, the graphs -> graph/); the
// libraries' files (onnxruntime-web's WebAssembly build, the JPEG and AVIF decoders) are copied
// unchanged. `npm run build`; npm pack runs it (prepack). Prints the bytes per kind of file.

import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = dirname(fileURLToPath(import.meta.url));
const LIB = resolve(WEB, '..', 'node', 'lib');
const MODULES = join(WEB, 'node_modules');
const GRAPHS = resolve(WEB, '..', '..', 'src', 'gamut_onnx', 'runtime');
const DIST = join(WEB, 'dist');
const ENTRIES = ['gamut-onnx-web.js', 'restore-worker.js', 'worker.js']; // workers: by URL
const ORT = join(MODULES, 'onnxruntime-web', 'dist');
/** Bare specifiers: the file each names (the browser's build of onnxruntime-web). */
const BARE = {
  'onnxruntime-web': join(ORT, 'ort.wasm.min.mjs'),
  '@jsquash/jpeg/decode.js': join(MODULES, '@jsquash', 'jpeg', 'decode.js'),
  '@jsquash/avif/decode.js': join(MODULES, '@jsquash', 'avif', 'decode.js'),
};
/** What the libraries load by URL at run time: onnxruntime-web's WebAssembly, the codecs'. */
const LOADED = [
  join(ORT, 'ort-wasm-simd-threaded.mjs'),
  join(ORT, 'ort-wasm-simd-threaded.wasm'),
  join(MODULES, '@jsquash', 'jpeg', 'codec', 'dec', 'mozjpeg_dec.wasm'),
  join(MODULES, '@jsquash', 'avif', 'codec', 'dec', 'avif_dec.wasm'),
  join(MODULES, '@jsquash', 'jpeg', 'LICENSE'),
  join(MODULES, '@jsquash', 'avif', 'LICENSE'),
];
const VIRTUAL_GRAPHS = resolve(WEB, '..', 'graph'); // serve.js's /graph/NAME.onnx

/** Where a source file goes in dist/. */
function target(file) {
  const under = (dir) => file === dir || file.startsWith(dir + sep);
  if (under(MODULES)) return join(DIST, 'vendor', relative(MODULES, file));
  if (under(LIB)) return join(DIST, 'lib', relative(LIB, file));
  if (under(VIRTUAL_GRAPHS)) return join(DIST, 'graph', relative(VIRTUAL_GRAPHS, file));
  if (under(WEB)) return join(DIST, relative(WEB, file));
  throw new Error(`build.js: ${file} is outside what dist/ holds`);
}

/** A specifier in `from`'s source, as the copy of `from` must write it, and the file it names. */
function mapped(spec, from) {
  const file = BARE[spec] ?? (spec.startsWith('.') ? resolve(dirname(from), spec) : null);
  if (!file) throw new Error(`build.js: ${from} imports ${spec}, which dist/ does not provide`);
  let path = relative(dirname(target(from)), target(file)).split(sep).join('/');
  if (!path.startsWith('.')) path = `./${path}`;
  if (spec.endsWith('/') && !path.endsWith('/')) path += '/';
  return { path, file };
}

// Static imports, and URLs relative to the module (new URL('...' or `...${`, import.meta.url).
const SPECIFIERS = [
  /(\bfrom\s+)'([^']+)'/g,
  /(\bimport\s+)'([^']+)'/g,
  /(\bimport\(\s*)'([^']+)'(?=\s*\))/g,
  /(new URL\(\s*)'([^']+)'(?=,\s*import\.meta\.url)/g,
  /(new URL\(\s*`)([^`$]+)(?=\$\{)/g,
];

/** Copy `file` with its specifiers rewritten; returns the module files it imports. */
function copyModule(file) {
  let text = readFileSync(file, 'utf8');
  const imports = [];
  for (const pattern of SPECIFIERS) {
    text = text.replace(pattern, (_, head, spec) => {
      const { path, file: named } = mapped(spec, file);
      if (/\.m?js$/.test(named)) imports.push(named);
      const quote = head.endsWith('`') ? '' : "'";
      return `${head}${quote}${path}${quote}`;
    });
  }
  mkdirSync(dirname(target(file)), { recursive: true });
  writeFileSync(target(file), text);
  return imports;
}

/** The libraries' modules are copied unchanged, with the modules they import. */
function copyVendor(file, done) {
  if (done.has(file)) return;
  done.add(file);
  mkdirSync(dirname(target(file)), { recursive: true });
  copyFileSync(file, target(file));
  if (!/\.m?js$/.test(file)) return;
  const text = readFileSync(file, 'utf8');
  for (const [, spec] of text.matchAll(/(?:\bfrom|\bimport)\s+['"](\.[^'"]+)['"]/g)) {
    copyVendor(resolve(dirname(file), spec), done);
  }
}

export function build() {
  rmSync(DIST, { recursive: true, force: true });
  const done = new Set();
  const pending = ENTRIES.map((name) => join(WEB, name));
  while (pending.length) {
    const file = pending.pop();
    if (done.has(file)) continue;
    if (file.startsWith(MODULES + sep)) {
      copyVendor(file, done);
      continue;
    }
    done.add(file);
    pending.push(...copyModule(file));
  }
  for (const file of LOADED) copyVendor(file, done);
  for (const name of ['restore', 'grids', 'output']) {
    mkdirSync(join(DIST, 'graph'), { recursive: true });
    copyFileSync(join(GRAPHS, `${name}.onnx`), join(DIST, 'graph', `${name}.onnx`));
  }
  const ortLicense = JSON.parse(readFileSync(join(MODULES, 'onnxruntime-web', 'package.json')));
  writeFileSync(
    join(DIST, 'vendor', 'NOTICE'),
    `vendor/onnxruntime-web: onnxruntime-web ${ortLicense.version}, ${ortLicense.license} ` +
      '(c) Microsoft Corporation\nvendor/@jsquash: jSquash decoders, Apache-2.0 (LICENSE files)\n',
  );
  return sizes();
}

/** Bytes of dist/ by kind: our JavaScript, the libraries' JavaScript, WebAssembly, graphs. */
function sizes() {
  const out = { js: 0, vendorJs: 0, wasm: 0, graphs: 0 };
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (name.endsWith('.wasm')) out.wasm += stat.size;
      else if (name.endsWith('.onnx')) out.graphs += stat.size;
      else if (/\.m?js$/.test(name)) {
        out[path.includes(`${sep}vendor${sep}`) ? 'vendorJs' : 'js'] += stat.size;
      }
    }
  };
  walk(DIST);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(build()));
}
