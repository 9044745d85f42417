// yargs, bundled into one file at build time (esbuild): loading it costs ~13 ms instead of ~32 ms
// of module resolution across its dependency tree. Types come from the yargs package.
export { default } from 'yargs';
