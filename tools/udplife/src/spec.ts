/** udplife's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'udplife',
  version: packageVersion(import.meta.url),
  summary: 'Trace the life of UDP sockets: who opened each one, its addresses and ports, bytes and datagrams each way, and how long it lived — one line when it closes.',
  examples: [
    ['udplife', 'every UDP socket, when it closes (or its process exits)'],
    ['udplife -T -w', 'with wall-clock time and room for IPv6 addresses'],
    ['udplife -D 53', 'sockets that talked to port 53 (DNS clients)'],
    ['udplife -L 5353,123 -4', 'IPv4 sockets on local ports 5353 or 123'],
    ['udplife --json -p 1234', 'NDJSON for PID 1234'],
  ],
  options: {
    wide: { alias: 'w', type: 'boolean', describe: 'wide address columns (for IPv6)' },
    localport: { alias: 'L', type: 'string', arg: 'PORT[,PORT...]', describe: 'only sockets on these local ports (up to 8)' },
    remoteport: { alias: 'D', type: 'string', arg: 'PORT[,PORT...]', describe: 'only sockets whose (last) peer port is one of these (up to 8)' },
    ipv4: { alias: '4', type: 'boolean', describe: 'IPv4 sockets only' },
    ipv6: { alias: '6', type: 'boolean', describe: 'IPv6 sockets only' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: PID and COMM of the process that created the socket, LADDR LPORT local, RADDR RPORT the connected peer or, for ' +
    'an unconnected socket, the last peer it sent to or received from (PEERS counts distinct ones, "8+" past 8), TX_B RX_B ' +
    'payload bytes, MS the lifetime. A socket is reported when it is released: closed, or its last holder exited. Before Linux ' +
    '6.3 bytes and peers come from the cgroup skb hooks (-v says which source is used); a kernel that gives none prints -.',
};

export interface UdplifeArgs {
  wide?: boolean;
  localport?: string;
  remoteport?: string;
  ipv4?: boolean;
  ipv6?: boolean;
}
