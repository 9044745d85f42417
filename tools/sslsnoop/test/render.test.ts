import { describe, expect, it } from 'vitest';
import { parseArgs } from '@bpf-recipes/cli';
import { blockHead, hexdump, printable } from '../src/render.js';
import { spec } from '../src/tool.js';

describe('render', () => {
  it('hexdump: offset, two groups of 8 bytes, ASCII', () => {
    expect(hexdump(Buffer.from('GET / HTTP/1.1\r\nHost'))).toBe(
      '00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|\n' +
      '00000010  48 6f 73 74                                       |Host|',
    );
  });
  it('printable text keeps newlines and tabs; control bytes are not', () => {
    expect(printable(Buffer.from('a\tb\r\n'))).toBe(true);
    expect(printable(Buffer.from([0x16, 0x03, 0x01]))).toBe(false);
  });
  it('block header: the classic form; -x adds uid= and tid=, then -T time= and -l lat=', () => {
    const h = { dir: '>' as const, pid: 594548, tid: 594549, uid: 1000, comm: 'openssl', len: 15, ret: 15, func: 'SSL_write' };
    expect(blockHead(h)).toBe('===== > pid=594548 comm=openssl len=15 func=SSL_write');
    expect(blockHead(h, { extra: true })).toBe('===== > pid=594548 comm=openssl len=15 func=SSL_write uid=1000 tid=594549');
    expect(blockHead({ ...h, dir: '<' }, { extra: true, time: '12:00:00.001', latMs: 0.0421 })).toBe(
      '===== < pid=594548 comm=openssl len=15 func=SSL_write uid=1000 tid=594549 time=12:00:00.001 lat=0.042ms',
    );
    expect(blockHead({ ...h, dir: 'handshake', ret: 1 }, { extra: true })).toBe('===== handshake pid=594548 comm=openssl ret=1 uid=1000 tid=594549');
  });
});

describe('options of bcc sslsniff', () => {
  it('-x/--extra, -o/--no-openssl, -g/--no-gnutls (its -n and -c are the common --name and --cgroup here)', () => {
    const a = parseArgs<Record<string, unknown>>(spec, ['-x', '-o', '-g']);
    expect({ extra: a.extra, openssl: a['no-openssl'], gnutls: a['no-gnutls'] }).toEqual({ extra: true, openssl: true, gnutls: true });
  });
});
