// Unit: what every tool's start costs in Node's own modules. The launch builds of the shared
// libraries (dist/index.cjs, what bin/<tool>.js loads) must not pull in child_process and the
// stream, socket and datagram modules behind it (~30 of Node's internal modules, a few ms of CPU at
// every start): only `-- COMMAND` and --user need child_process, and they load it when used.
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LIBS = ['core', 'format', 'runtime', 'cli'];

/** Node's built-in modules loaded by running `script` in a fresh process (beyond a bare node's own) */
function builtinsLoadedBy(script: string): string[] {
  const out = execFileSync(process.execPath, ['--max-semi-space-size=2', '-e', `
    const base = new Set(process.moduleLoadList);
    ${script}
    console.log(JSON.stringify(process.moduleLoadList.filter((m) => !base.has(m) && m.startsWith('NativeModule ')).map((m) => m.slice(13))));`], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

const requireLibs = LIBS.map((l) => `require(${JSON.stringify(join(root, 'node_modules', '@bpf-recipes', l, 'dist', 'index.cjs'))});`).join('\n');
const HEAVY = ['child_process', 'net', 'dgram', 'stream', 'internal/streams/readable', 'internal/child_process'];

describe('the libraries\' launch builds load no child_process, streams or sockets', () => {
  it('requiring core, format, runtime and cli leaves them out', () => {
    const loaded = builtinsLoadedBy(requireLibs);
    expect(loaded.filter((m) => HEAVY.includes(m))).toEqual([]);
  });

  it('the probe sees them once child_process is loaded (as `-- COMMAND` does when it starts the command)', () => {
    const loaded = builtinsLoadedBy(`${requireLibs}\nrequire('node:child_process');`);
    expect(loaded).toEqual(expect.arrayContaining(['child_process', 'net', 'stream']));
  });
});
