/** sslsnoop's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'sslsnoop',
  version: packageVersion(import.meta.url),
  summary: 'Show the plaintext of TLS traffic at the library boundary (OpenSSL, GnuTLS, NSS) — what a program writes before encryption and reads after decryption.',
  examples: [
    ['sslsnoop', 'every TLS read and write of the system\'s OpenSSL, GnuTLS and NSS'],
    ['sslsnoop -p 1234 --hexdump', 'PID 1234 only (through the libraries it has mapped), as a hex dump'],
    ['sslsnoop --binary /usr/bin/node', 'also a program that links OpenSSL statically'],
    ['sslsnoop -l --handshake', 'with the time each call took, and the handshakes'],
    ['sslsnoop --columns', 'one line per call, no data'],
    ['sslsnoop -x -o -g', 'with UID and TID; NSS only (no OpenSSL, no GnuTLS)'],
    ['sslsnoop --json | jq -r .data | base64 -d', 'NDJSON with base64 data'],
  ],
  options: {
    hexdump: { type: 'boolean', describe: 'show data as a hex dump (offset, hex bytes, ASCII)' },
    'max-buffer-size': { type: 'string', arg: 'BYTES', describe: 'copy at most BYTES of each call (default 8192, at most 16384); more is marked as truncated' },
    latency: { alias: 'l', type: 'boolean', describe: 'add the time each call took' },
    handshake: { type: 'boolean', describe: 'also show SSL_do_handshake calls (result and time)' },
    columns: { type: 'boolean', describe: 'one line per call: FUNC TIME COMM PID LEN, no data' },
    extra: { alias: 'x', type: 'boolean', describe: 'also show the UID and TID of each call (uid= tid= in blocks, UID TID columns)' },
    binary: { type: 'string', array: true, arg: 'PATH', describe: 'also probe OpenSSL functions in this executable (statically linked, e.g. node); repeatable' },
    'no-openssl': { alias: 'o', type: 'boolean', describe: 'do not probe OpenSSL (libssl)' },
    'no-gnutls': { alias: 'g', type: 'boolean', describe: 'do not probe GnuTLS (libgnutls)' },
    'no-nss': { type: 'boolean', describe: 'do not probe NSS (libnspr4 PR_Read/PR_Write/PR_Recv/PR_Send)' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose', 'buffer-size'],
  notes:
    'Blocks: "===== > pid=P comm=C len=N" for a write (">") or read ("<"), then the data. Data is what the call moved: ' +
    'the return of SSL_read/SSL_write, *readbytes/*written of the _ex calls. The output holds decrypted secrets: ' +
    'treat it as you would the keys. With -p the libraries are found in the process\'s own maps (containers included).',
};

export interface SslArgs {
  hexdump?: boolean;
  'max-buffer-size'?: string;
  latency?: boolean;
  handshake?: boolean;
  columns?: boolean;
  extra?: boolean;
  binary?: string[];
  'no-openssl'?: boolean;
  'no-gnutls'?: boolean;
  'no-nss'?: boolean;
}
