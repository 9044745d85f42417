// Privileged: a host name that is not UTF-8 through the real gethostlatency. The lookup fails
// (AI_NUMERICHOST: nothing leaves the machine) but is traced, its name escaped in the table and
// exact in --json.
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

// argv holds raw bytes only through exec: python3 execs the fixture with the name h ff fe . \ x f f . invalid
const EXEC = String.raw`
import os, sys
os.execv(sys.argv[1], [sys.argv[1], b'numeric-fail', b'h\xff\xfe.\\xff.invalid'])
`;
const NAME = Buffer.concat([Buffer.from('h'), Buffer.from([0xff, 0xfe]), Buffer.from('.\\xff.invalid')]);

describe.skipIf(skipPrivileged())('gethostlatency: host names that are not UTF-8', () => {
  let gw: string;
  beforeAll(() => {
    gw = fixture('gethostlatency-workload');
  });

  it('HOST shows h\\xff\\xfe.\\\\xff.invalid; --json has host_b64 with the exact bytes', async () => {
    const json = await startTool('gethostlatency', ['--json']);
    const table = await startTool('gethostlatency', []);
    const w = await run('python3', ['-c', EXEC, gw]);
    expect(w.stdout).toBe('-2\n'); // EAI_NONAME
    await json.waitForLine(new RegExp(`"pid":${w.pid},`));
    await table.waitForLine(/invalid$/);
    expect((await json.stop()).code).toBe(0);
    expect((await table.stop()).code).toBe(0);

    const ev = json.lines().map((l) => JSON.parse(l)).filter((e) => e.pid === w.pid && e.host.endsWith('.invalid'));
    expect(ev).toEqual([expect.objectContaining({ comm: 'gethostlatency-', func: 'getaddrinfo', host: 'h\\xff\\xfe.\\\\xff.invalid', ret: -2, ret_name: 'EAI_NONAME' })]);
    expect(Buffer.from(ev[0].host_b64, 'base64')).toEqual(NAME);
    const row = table.lines().find((l) => l.trim().split(/\s+/)[1] === String(w.pid) && l.endsWith('.invalid'));
    expect(row?.trim().split(/\s+/).slice(1)).toEqual([String(w.pid), 'gethostlatency-', expect.stringMatching(/^\d+\.\d{3}$/), 'EAI_NONAME', 'h\\xff\\xfe.\\\\xff.invalid']);
    for (const t of [json, table]) expect(t.stdout()).not.toContain('\ufffd');
  });
});
