// gamut-onnx-web: wide-gamut photos on any page. A page adds
//   <script type="module" src="/gamut-onnx-web/gamut-onnx-web.js"></script>
// and, on a wide-gamut screen, every <img> whose file is a gamut-onnx carrier is shown with its
// restored colours: once it is near the viewport, its bytes (from the browser's cache) are
// restored by the three graphs in Web Workers (upgrade.js: the modules and limits of the Node
// package) and a Display P3 canvas takes its place (replace.js). sRGB screens,
// images without a model and anything that fails are left as they are (one console warning for
// a carrier that cannot be restored).
//
// Options: <html data-gamut="opt-in"> upgrades only images marked data-gamut, "manual" none
// until upgrade() is called; <img data-gamut="off"> is never upgraded. The canvas that replaces
// an image fires a bubbling `gamutupgrade` event (detail: src, width, height, started and
// seconds: from reading the file to the canvas in place, restoreSeconds, warnings).


/** Screens that show more than sRGB; elsewhere the carrier's own sRGB image is the right one. */
export const WIDE_GAMUT = '(color-gamut: p3)';
const NEAR = '300px'; // start a restore this far before an image scrolls into view

let queue = Promise.resolve(); // one image at a time: each restore uses every worker
const seen = new WeakSet();

/** Whether this screen shows wide-gamut colours. */
export function wideGamut() {
  return typeof matchMedia === 'function' && matchMedia(WIDE_GAMUT).matches;
}

/**
 * Restore `img`'s file and put a Display P3 canvas in its place. Resolves with the canvas, or
 * null when the image is left as it is (sRGB screen, no model, not a PNG/JPEG/TIFF, or a
 * failure, which is reported in one console warning).
 * @param {HTMLImageElement} img
 * @returns {Promise<HTMLCanvasElement|null>}
 */
export function upgrade(img) {
  // The restore's modules load with the first image on a wide-gamut screen: elsewhere the page
  // fetches this file alone.
  const run = queue.then(async () => {
    if (!wideGamut() || !img.isConnected || img.dataset.gamut === 'off') return null;
    const { upgradeImage } = await import('./upgrade.js');
    return upgradeImage(img);
  });
  queue = run.catch(() => {});
  return run;
}

/** Whether `img` takes part on this page (the opt-in and opt-out attributes). */
function wanted(img) {
  if (img.dataset.gamut === 'off') return false;
  return document.documentElement.dataset.gamut !== 'opt-in' || 'gamut' in img.dataset;
}

/**
 * Watch the page: every wanted image (now or added later) is upgraded once it comes near the
 * viewport. Called on load unless <html data-gamut="manual">; does nothing on sRGB screens.
 */
export function start() {
  if (!wideGamut()) return;
  const visible = new IntersectionObserver(
    (entries) => {
      for (const { target, isIntersecting } of entries) {
        if (!isIntersecting) continue;
        visible.unobserve(target);
        upgrade(target);
      }
    },
    { rootMargin: NEAR },
  );
  const watch = (img) => {
    if (seen.has(img) || !wanted(img)) return;
    seen.add(img);
    visible.observe(img);
  };
  const scan = (root) => {
    if (root instanceof HTMLImageElement) watch(root);
    root.querySelectorAll?.('img').forEach(watch);
  };
  scan(document);
  new MutationObserver((changes) => {
    for (const change of changes) change.addedNodes.forEach(scan);
  }).observe(document.documentElement, { childList: true, subtree: true });
}

if (typeof document !== 'undefined' && document.documentElement.dataset.gamut !== 'manual') {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start, { once: true });
  } else start();
}
