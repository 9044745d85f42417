#!/usr/bin/env node
// Launcher committed so that npm links the command before the build; the tool is in dist/.
import '../dist/src/main.js';
