// utif2 is a classic script (it sets self.UTIF, with pako as self.pako); index.html loads both
// before the modules, and the import map points the shared code's `import UTIF from 'utif2'` here.
export default globalThis.UTIF;
