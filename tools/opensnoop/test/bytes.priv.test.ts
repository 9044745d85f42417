// Privileged: names that are not UTF-8 (DESIGN.md §5) through the real opensnoop: a path with the
// bytes ff fe, a path with the four characters \xff in its name, and a comm with stray bytes
// (prctl PR_SET_NAME) must all stay distinguishable, in the table and (exactly, bytes back) in --json.
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTool, uniquePath } from '@bpf-recipes/testing';

// sets its comm to p ff fe \ x, then creates, opens and removes DIR/f-a<ff><fe> and DIR/f-a\xff\xfe
const WORKLOAD = String.raw`
import ctypes, os, sys
d = os.fsencode(sys.argv[1])
ctypes.CDLL(None).prctl(15, b'p\xff\xfe\\x', 0, 0, 0)
for name in (b'/f-a\xff\xfe', b'/f-a\\xff\\xfe'):
    fd = os.open(d + name, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.unlink(d + name)
`;

describe.skipIf(skipPrivileged())('opensnoop: bytes that are not UTF-8', () => {
  const dir = uniquePath('utf8');
  mkdirSync(dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('table escapes them unambiguously; --json keeps the escaped text plus the exact bytes in path_b64/comm_b64', async () => {
    const table = await startTool('opensnoop', []);
    const json = await startTool('opensnoop', ['--json']);
    const py = await run('python3', ['-c', WORKLOAD, dir]);
    expect(py.code, py.stderr).toBe(0);
    await table.waitForLine(/f-a\\\\xff\\\\xfe$/);
    await json.waitForLine(/f-a\\\\xff\\\\xfe"/);
    expect((await table.stop('SIGINT')).code).toBe(0);
    expect((await json.stop('SIGINT')).code).toBe(0);

    // table: one row per open, the two paths different, nothing replaced by U+FFFD
    const rows = table.lines().filter((l) => l.includes(`${dir}/f-a`));
    expect(rows).toHaveLength(2);
    const cells = rows.map((r) => r.trim().split(/\s+/));
    for (const c of cells) expect(c.slice(0, 2)).toEqual([String(py.pid), 'p\\xff\\xfe\\\\x']);
    expect(cells.map((c) => c[4])).toEqual([`${dir}/f-a\\xff\\xfe`, `${dir}/f-a\\\\xff\\\\xfe`]);
    expect(table.stdout()).not.toContain('\ufffd');

    // JSON: valid UTF-8 lines; the bytes come back exactly from *_b64, the ordinary name needs none
    expect(json.stdout()).not.toContain('\ufffd');
    const ev = json.lines().map((l) => JSON.parse(l)).filter((e) => e.pid === py.pid && e.path.startsWith(`${dir}/f-a`));
    expect(ev).toHaveLength(2);
    const bytesOf = (e: { path: string; path_b64?: string }) => (e.path_b64 === undefined ? Buffer.from(e.path, 'utf8') : Buffer.from(e.path_b64, 'base64'));
    expect(bytesOf(ev[0]).equals(Buffer.concat([Buffer.from(`${dir}/f-a`), Buffer.from([0xff, 0xfe])]))).toBe(true);
    expect(ev[0].path).toBe(`${dir}/f-a\\xff\\xfe`);
    expect(ev[1].path).toBe(`${dir}/f-a\\xff\\xfe`); // the literal name: plain text, no _b64
    expect(ev[1].path_b64).toBeUndefined();
    expect(bytesOf(ev[1]).equals(Buffer.from(`${dir}/f-a\\xff\\xfe`))).toBe(true);
    for (const e of ev) {
      expect(e.comm).toBe('p\\xff\\xfe\\\\x');
      expect(Buffer.from(e.comm_b64, 'base64').equals(Buffer.from([0x70, 0xff, 0xfe, 0x5c, 0x78]))).toBe(true);
      expect(e.fd).toBeGreaterThanOrEqual(3);
    }
  });
});
