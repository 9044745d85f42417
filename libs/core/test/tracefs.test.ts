// Unit: the tracefs event list behind rawTracepointExists(), on a fake tracefs root (one Tracefs, asked again and again).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Tracefs } from '../src/tracefs.js';

describe('Tracefs.rawTracepointExists', () => {
  const dirs: string[] = [];
  const fakeRoot = () => {
    const d = mkdtempSync(join(tmpdir(), 'bpf-recipes-tracefs-'));
    mkdirSync(join(d, 'events'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('answers from available_events: present yes, absent no, on every lookup', () => {
    const r = fakeRoot();
    const t = new Tracefs(r);
    writeFileSync(join(r, 'available_events'), 'sched:sched_process_exit\nsyscalls:sys_enter_openat\n');
    const rawTracepointExists = (name: string) => t.rawTracepointExists(name);
    for (let i = 0; i < 3; i++) {
      expect(rawTracepointExists('sched_process_exit')).toBe(true);
      expect(rawTracepointExists('sys_enter_openat')).toBe(true);
      expect(rawTracepointExists('no_such_event')).toBe(false);
    }
  });

  it('an unreadable available_events means "unknown, let attach decide": yes on every lookup, not only the first', () => {
    const r = fakeRoot();
    const t = new Tracefs(r);
    mkdirSync(join(r, 'available_events')); // reading a directory fails (EISDIR), even as root
    const rawTracepointExists = (name: string) => t.rawTracepointExists(name);
    expect([1, 2, 3].map(() => rawTracepointExists('sched_process_exit'))).toEqual([true, true, true]);
    expect(rawTracepointExists('no_such_event')).toBe(true);
  });

  it('a list that becomes readable later is read then', () => {
    const r = fakeRoot();
    const t = new Tracefs(r);
    mkdirSync(join(r, 'available_events'));
    const rawTracepointExists = (name: string) => t.rawTracepointExists(name);
    expect(rawTracepointExists('no_such_event')).toBe(true);
    rmSync(join(r, 'available_events'), { recursive: true });
    writeFileSync(join(r, 'available_events'), 'sched:sched_switch\n');
    expect(rawTracepointExists('no_such_event')).toBe(false);
    expect(rawTracepointExists('sched_switch')).toBe(true);
  });
});
