// Privileged: a Python started from a path that is not UTF-8, with such an argv, through the real
// python-exec-hook --json: exe, filename, comm and argv keep their exact bytes (<key>_b64).
import { copyFileSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTool } from '@bpf-recipes/testing';

// forks; the child execs PATH (hex) with argv [PATH, -c, <sleep>, arg-<fe>\x]; prints the child's pid
const LAUNCH = String.raw`
import os, sys
p = bytes.fromhex(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.execv(p, [p, b'-c', b'import time; time.sleep(0.5)', b'arg-\xfe\\x'])
os.waitpid(pid, 0)
print(pid)
`;

describe.skipIf(skipPrivileged())('python-exec-hook: names that are not UTF-8', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-pyexec-bytes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exe, filename, comm and argv: escaped text plus exact bytes in exe_b64, filename_b64, comm_b64, argv_b64', async () => {
    const path = Buffer.concat([Buffer.from(`${dir}/python`), Buffer.from([0xff, 0xfe])]);
    copyFileSync(realpathSync('/usr/bin/python3'), path);
    const tool = await startTool('python-exec-hook', ['--json', '--match', '^python']);
    const l = await run('python3', ['-c', LAUNCH, path.toString('hex')]);
    expect(l.code, l.stderr).toBe(0);
    const child = Number(l.stdout.trim());
    await tool.waitForLine(new RegExp(`"pid":${child},`));
    expect((await tool.stop()).code).toBe(0);
    expect(tool.stdout()).not.toContain('\ufffd');

    const ev = tool.lines().map((x) => JSON.parse(x)).filter((e) => e.pid === child);
    expect(ev).toHaveLength(1);
    const e = ev[0];
    const b64 = (s: string) => Buffer.from(s, 'base64');
    expect(e.exe).toBe(`${dir}/python\\xff\\xfe`);
    expect(b64(e.exe_b64)).toEqual(path);
    expect(e.filename).toBe(`${dir}/python\\xff\\xfe`);
    expect(b64(e.filename_b64)).toEqual(path);
    expect(e.comm).toBe('python\\xff\\xfe');
    expect(b64(e.comm_b64)).toEqual(Buffer.from([...Buffer.from('python'), 0xff, 0xfe]));
    expect(e.argv).toEqual([`${dir}/python\\xff\\xfe`, '-c', 'import time; time.sleep(0.5)', 'arg-\\xfe\\\\x']);
    expect(e.argv_b64.map(b64)).toEqual([path, Buffer.from('-c'), Buffer.from('import time; time.sleep(0.5)'), Buffer.from([...Buffer.from('arg-'), 0xfe, 0x5c, 0x78])]);
  });
});
