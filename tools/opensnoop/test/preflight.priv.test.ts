// Privileged: the preflight checks, each on a machine made to lack one thing. Every case runs in a
// private mount namespace (unshare -m), so unmounting tracefs or hiding BTF here cannot disturb
// other tools tracing at the same time.
import { spawnSync } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { skipPrivileged, toolBin, toolCopyForAnyUser, uniquePath } from '@bpf-recipes/testing';

const inNamespace = (setup: string, args: string[] = ['-d', '0.3']) => {
  const cmd = `${setup} && exec "${toolBin('opensnoop')}" ${args.join(' ')}`;
  return spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', cmd], { encoding: 'utf8', timeout: 30000 });
};

describe.skipIf(skipPrivileged())('opensnoop preflight', () => {
  it('not root: one line saying to run as root, exit 1', () => {
    // the built tool as npm installs it, where nobody can read it wherever this checkout is
    const copy = toolCopyForAnyUser('opensnoop');
    try {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', copy.bin], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('opensnoop: BPF tracing needs root (or CAP_BPF and CAP_PERFMON): run it with sudo\n');
    } finally {
      copy.dispose();
    }
  });

  it('tracefs not mounted: the tool mounts it and traces', () => {
    const r = inNamespace('umount /sys/kernel/tracing && test ! -e /sys/kernel/tracing/events');
    expect(r.stderr).toMatch(/^Tracing open/m);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^\s+PID COMM\s+FD ERR PATH$/);
  });

  it('no BTF: one line naming CONFIG_DEBUG_INFO_BTF, exit 1', () => {
    const r = inNamespace('mount -t tmpfs none /sys/kernel/btf');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('opensnoop: this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): use a kernel built with CONFIG_DEBUG_INFO_BTF=y\n');
  });

  it('no usable libbpf.so.1: one line naming the package, exit 1', () => {
    const empty = uniquePath('empty-lib');
    writeFileSync(empty, '');
    const lib = realpathSync(spawnSync('sh', ['-c', 'ldconfig -p | sed -n "s/.*libbpf.so.1 .*=> //p" | head -1'], { encoding: 'utf8' }).stdout.trim());
    const r = inNamespace(`mount --bind ${empty} ${lib}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('opensnoop: libbpf.so.1 not found: install it (apt-get install libbpf1)\n');
  });
});
