#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --max-semi-space-size=2
// Launcher committed so that npm links the command before the build. It loads the tool's one-file
// CommonJS build (dist/src/main.cjs, scripts/bundle.mjs): a few files to read instead of ~40 ES modules.
// NODE_EXTRA_CA_CERTS is dropped: a tracing tool speaks no TLS, and loading a CA bundle costs Node 40+ ms of startup.
// A 2 MB young generation keeps peak RSS under ~75 MB during event storms (default: ~110 MB), for ~5 % more CPU.
require('../dist/src/main.cjs');
