#!/usr/bin/env node
/** killsnoop: user space. The kernel side is bpf/killsnoop.bpf.c; the decoder is generated from its BTF. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseIntArg, runTool } from '@bpf-recipes/cli';
import { UsageError, decodeText } from '@bpf-recipes/core';
import { Columns, clockTime, errnoName, isoTime, jsonFields, signalName, signalNumber, tableText } from '@bpf-recipes/format';
import { codeName, generateResult, SOURCES } from './codes.js';
import { decodeEvent, rodata, type Event } from './generated/killsnoop.js';
import { spec, type KillsnoopArgs } from './spec.js';
import { targetOf } from './target.js';

const GENERATE = 6;

void runTool<KillsnoopArgs>(spec, (ctx) => {
  const a = ctx.args;
  const all = Boolean(a['all-signals']);
  let mask = 0n;
  let sig64 = false;
  for (const s of (a.signal ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const n = signalNumber(s);
    if (n === undefined || n === 0) throw new UsageError(`--signal: unknown signal '${s}' (names like TERM or SIGRTMIN+3, or numbers 1-64)`);
    if (n === 64) sig64 = true;
    else mask |= 1n << BigInt(n);
  }
  if (a.signal !== undefined && mask === 0n && !sig64) throw new UsageError('--signal: give at least one signal');
  const tpid = a.tpid === undefined ? 0 : parseIntArg('tpid', a.tpid, 'a process ID', 1, 4194304);

  const obj = ctx.open(fileURLToPath(new URL('../bpf/killsnoop.bpf.o', import.meta.url)), rodata, {
    cfg_all: all,
    cfg_failed: Boolean(a.failed),
    cfg_tpid: tpid,
    cfg_sig_mask: mask,
    cfg_sig_64: sig64,
  });
  if (all) for (const p of obj.programs) if (p.name !== 'killsnoop_generate') obj.setAutoload(p.name, false);
  ctx.loadAndAttach(obj);

  const procComm = (pid: number): string | undefined => {
    try {
      return decodeText(readFileSync(`/proc/${pid}/comm`)).replace(/\n$/, ''); // bytes kept, as the kernel's comm
    } catch {
      return undefined;
    }
  };
  const result = (e: Event) => (e.source === GENERATE ? generateResult(e.ret) : String(e.ret));

  const cols = new Columns([
    { name: 'TIME', width: 12 },
    { name: 'PID', width: 7, align: 'right' },
    { name: 'COMM', width: 16 },
    { name: 'SIG', width: 12 },
    { name: 'TPID', width: 7, align: 'right' },
    { name: 'TCOMM', width: 16 },
    ...(all ? [{ name: 'CODE', width: 12 }] : []),
    { name: 'RESULT', width: 0 },
  ]);

  const line = (e: Event): string => {
    const ms = ctx.clock.wallMs(e.ts_ns);
    const t = targetOf(e, procComm);
    if (a.json) {
      return JSON.stringify({
        time: isoTime(ms), pid: e.pid, tid: e.tid, uid: e.uid, ...jsonFields('comm', e.comm), sig: e.sig, sig_name: signalName(e.sig),
        tpid: t.tpid, tgid: e.source === 2 || e.source === 4 ? e.tpid : undefined, ...jsonFields('tcomm', t.tcomm),
        result: e.source === GENERATE ? generateResult(e.ret) : e.ret,
        errno: e.source !== GENERATE && e.ret < 0 ? errnoName(-e.ret) : undefined,
        syscall: SOURCES[e.source], pidfd: e.source === 5 ? e.pidfd : undefined,
        code: e.source === GENERATE ? e.code : undefined, code_name: e.source === GENERATE ? codeName(e.sig, e.code) : undefined,
      });
    }
    if (a.sentence) {
      const what = `${tableText(e.comm)} (${e.pid}) sent signal ${e.sig} (${signalName(e.sig)}) to ${tableText(t.phrase)}`;
      if (e.source === GENERATE) return `${what}: ${codeName(e.sig, e.code)}, ${generateResult(e.ret)}`;
      return e.ret < 0 ? `${what}: failed with ${errnoName(-e.ret)}` : what;
    }
    return cols.row([clockTime(ms), e.pid, tableText(e.comm), signalName(e.sig), t.tpid ?? '?', tableText(t.tcomm), ...(all ? [codeName(e.sig, e.code)] : []), result(e)]);
  };

  if (!a.json && !a.sentence) ctx.out.line(cols.header());
  ctx.follow(obj, 'events', (b, off) => ctx.out.line(line(decodeEvent(b, off))));
  ctx.ready(all ? 'Tracing every generated signal... Hit Ctrl-C to end.' : 'Tracing signals sent by kill(2) and relatives... Hit Ctrl-C to end.');
});
