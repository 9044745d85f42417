/**
 * Debug information as distributions ship it, for the symbolization tests: a binary stripped with
 * its function symbols kept in MiniDebugInfo (.gnu_debugdata), made with binutils and xz as
 * Fedora's find-debuginfo and gdb's manual describe; and a debuginfod server (a child process,
 * so that a test that waits synchronously for a download does not stall it) serving
 * /buildid/BUILDID/debuginfo from a directory and logging every request.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function names(cmd: string[]): Set<string> {
  const out = execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
  return new Set(
    out
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 2 && /^[Tt]$/.test(f[1]))
      .map((f) => f[0]),
  );
}

/**
 * `bin` stripped into `out`, its function symbols that .dynsym lacks kept only in an
 * xz-compressed ELF file in the section .gnu_debugdata.
 */
export function makeMiniDebugInfo(bin: string, out: string): void {
  const tmp = mkdtempSync(join(tmpdir(), 'minidebuginfo-'));
  try {
    const dynamic = names(['nm', '-D', '--format=posix', '--defined-only', bin]);
    const keep = [...names(['nm', '--format=posix', '--defined-only', bin])].filter((n) => !dynamic.has(n));
    writeFileSync(join(tmp, 'keep'), keep.join('\n') + '\n');
    execFileSync('objcopy', ['--only-keep-debug', bin, join(tmp, 'debug')]);
    execFileSync('objcopy', ['-S', '--remove-section', '.gdb_index', '--remove-section', '.comment', `--keep-symbols=${join(tmp, 'keep')}`, join(tmp, 'debug'), join(tmp, 'mini')]);
    execFileSync('xz', ['-k', join(tmp, 'mini')]);
    execFileSync('strip', ['--strip-all', '-R', '.comment', '-o', join(tmp, 'stripped'), bin]);
    execFileSync('objcopy', ['--add-section', `.gnu_debugdata=${join(tmp, 'mini.xz')}`, join(tmp, 'stripped'), out]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface DebuginfodServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** the paths asked for, in order */
  requests(): Promise<string[]>;
  /** serve `file` as the debug file of `buildId` */
  add(buildId: string, file: string): void;
  close(): Promise<void>;
}

// the server: GET /buildid/ID/debuginfo → DIR/ID (404 when absent); /hang/... never answers.
// Each request's path is printed on stdout; "port N" first.
const SERVER = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const dir = process.argv[1];
const s = http.createServer((req, res) => {
  process.stdout.write('GET ' + req.url + '\\n');
  const m = /^\\/(hang\\/)?buildid\\/([0-9a-f]+)\\/debuginfo$/.exec(req.url);
  if (m && m[1]) return; // never answers
  const f = m && path.join(dir, m[2]);
  if (!f || !fs.existsSync(f)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  fs.createReadStream(f).pipe(res);
});
s.listen(0, '127.0.0.1', () => process.stdout.write('port ' + s.address().port + '\\n'));
`;

/** A debuginfod server on 127.0.0.1 (a child process). */
export async function startDebuginfod(): Promise<DebuginfodServer> {
  const dir = mkdtempSync(join(tmpdir(), 'debuginfod-'));
  const proc: ChildProcess = spawn(process.execPath, ['-e', SERVER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => (out += d));
  const port = await new Promise<number>((res, rej) => {
    const t = setTimeout(() => rej(new Error('the debuginfod test server did not start')), 10000);
    proc.stdout!.on('data', () => {
      const m = /^port (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(t);
        res(Number(m[1]));
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    // the child prints each request before answering it: a moment lets the last line arrive
    requests: async () => {
      await new Promise((r) => setTimeout(r, 100));
      return [...out.matchAll(/^GET (\S+)$/gm)].map((m) => m[1]);
    },
    add: (buildId, file) => {
      mkdirSync(dir, { recursive: true });
      execFileSync('cp', [file, join(dir, buildId)]);
    },
    close: () =>
      new Promise<void>((res) => {
        proc.on('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          res();
        });
        proc.kill();
      }),
  };
}
