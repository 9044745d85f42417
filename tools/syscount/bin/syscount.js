#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// Launcher committed so that npm links the command before the build; the tool is in dist/.
// NODE_EXTRA_CA_CERTS is dropped: a tracing tool speaks no TLS, and loading a CA bundle costs Node 40+ ms of startup.
import '../dist/src/main.js';
