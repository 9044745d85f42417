#!/usr/bin/env node
// The oldest Node.js the packages support (engines ">=18.19": Ubuntu 24.04 ships 18.19.1, Debian 12
// 18.20), for the tests that run the packaged tools under it. Installed from the npm registry (the
// package node-linux-<arch> holds the official binary), so no network beyond the registry is needed,
// into .cache/node18/ (ignored by git). Prints the directory holding the `node` binary: put it first
// in PATH and the tools' launchers (`#!/usr/bin/env ... node`) run on it.
// Run by scripts/setup.sh; tests call it too, and it returns at once when the binary is there.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE18 = '18.19.1';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The bin directory of Node NODE18, installed on first use. */
export function node18Bin() {
  const pkg = `node-linux-${arch()}`;
  const prefix = join(root, '.cache', 'node18');
  const bin = join(prefix, 'node_modules', pkg, 'bin');
  const installed = () => existsSync(join(bin, 'node')) && execFileSync(join(bin, 'node'), ['--version'], { encoding: 'utf8' }).trim() === `v${NODE18}`;
  if (!installed()) {
    mkdirSync(prefix, { recursive: true });
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${NODE18}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (!installed()) throw new Error(`node18: ${pkg}@${NODE18} installed, but ${join(bin, 'node')} is not Node ${NODE18}`);
  }
  return bin;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(node18Bin());
