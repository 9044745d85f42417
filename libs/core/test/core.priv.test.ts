// Privileged: the core library against the real kernel, with a BPF object of its own.
import { spawn } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateTs, readLayout } from '@bpf-recipes/codegen';
import { heldPrograms, loadedPrograms, programsStillLoaded, skipPrivileged } from '@bpf-recipes/testing';
import { BpfError, BpfObject, PerfSwConfig, PerfType, PreflightError, RecipesError, findSystemLibrary, openPerfEvent, preflight } from '../src/index.js';
import koffi from 'koffi';
import { cstr, u64, type RodataLayout } from '../src/decode.js';
import { buildFixture } from './build-fixture.js';

describe.skipIf(skipPrivileged())('core on the real kernel', () => {
  let good: string;
  let bad: string;
  let long: string;
  let rodata: RodataLayout;
  let open: BpfObject[] = [];
  beforeAll(() => {
    preflight();
    good = buildFixture('corefix');
    bad = buildFixture('corebad');
    long = buildFixture('corelong');
    // the layout the tools get from codegen, built from the same object
    const src = generateTs(readLayout(good));
    rodata = Function(`return ${/export const rodata: RodataLayout = (\{[\s\S]*?\n\});/.exec(src)![1]}`)() as RodataLayout;
  });
  afterEach(() => {
    for (const o of open.splice(0)) o.close();
  });
  const openObj = (p: string) => {
    const o = BpfObject.open(p);
    open.push(o);
    return o;
  };

  it('opens, configures, skips the missing tracepoint, loads, attaches, reads the ring buffer and maps, detaches', async () => {
    const obj = openObj(good);
    obj.setConfig(rodata, { cfg_magic: 0xabcd, cfg_small: -5, cfg_label: 'x', cfg_pids: [process.pid], cfg_npids: 1 });
    expect(obj.skipMissingTracepoints()).toEqual([
      { program: 'corefix_missing', reason: 'tracepoint syscalls:sys_enter_recipes_no_such_call does not exist on this kernel' },
    ]);
    obj.load();
    expect(obj.attachAll().sort()).toEqual(['corefix_btf', 'corefix_getppid', 'corefix_raw']);
    const got: { pid: number; magic: number; small: number; comm: string; ts: number }[] = [];
    let batches = 0;
    const rb = obj.ringBuffer('events', (b, o, len) => {
      expect(len).toBeGreaterThanOrEqual(56);
      got.push({ ts: u64(b, o), pid: b.readUInt32LE(o + 8), magic: b.readUInt32LE(o + 12), small: b.readInt16LE(o + 16), comm: cstr(b, o + 19, 16) });
    }, { after: () => batches++ });
    for (let i = 0; i < 25; i++) void process.ppid; // one getppid(2) each
    expect(rb.drain()).toBe(25);
    expect(got).toHaveLength(25);
    for (const e of got) expect(e).toMatchObject({ pid: process.pid, magic: 0xabcd, small: -5 });
    expect(got[0].ts).toBeGreaterThan(0);
    expect(batches).toBe(1);

    const key = Buffer.alloc(4);
    key.writeUInt32LE(process.pid);
    expect(obj.map('per_pid').lookup(key)!.readBigUInt64LE(0)).toBe(25n);
    expect([...obj.map('per_pid').keys()].map((k) => k.readUInt32LE(0))).toEqual([process.pid]);
    expect(obj.map('per_cpu').sumU64(Buffer.alloc(4))).toBe(25);
    expect(obj.map('lost_events').sumU64(Buffer.alloc(4))).toBe(0);
    const missing = Buffer.alloc(4);
    missing.writeUInt32LE(1);
    expect(obj.map('per_pid').lookup(missing)).toBeNull();

    // records that arrive are announced through libuv: start() and wait
    rb.start();
    const before = got.length;
    for (let i = 0; i < 3; i++) void process.ppid;
    const deadline = Date.now() + 5000;
    while (got.length < before + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(got.length).toBe(before + 3);

    const ids = heldPrograms(process.pid);
    expect(ids).toHaveLength(6); // all seven programs but the skipped one are loaded
    obj.close();
    expect(heldPrograms(process.pid)).toEqual([]);
    expect(await programsStillLoaded(ids)).toEqual([]);
  });

  it('delivers records that run past the end of the ring intact, lap after lap', () => {
    const obj = openObj(good);
    obj.setConfig(rodata, { cfg_magic: 0x5a5a, cfg_small: 7, cfg_label: 'x', cfg_pids: [process.pid], cfg_npids: 1 });
    obj.skipMissingTracepoints();
    // one page: 80-byte records (8-byte header + 72) do not divide 4096, so every lap ends in a record split across the end
    obj.setMaxEntries('events', 4096);
    obj.load();
    obj.attachAll();
    const got: { len: number; pid: number; magic: number; small: number; comm: string; a: number; b: bigint; arr3: number }[] = [];
    const rb = obj.ringBuffer('events', (b, o, len) => {
      got.push({ len, pid: b.readUInt32LE(o + 8), magic: b.readUInt32LE(o + 12), small: b.readInt16LE(o + 16), comm: cstr(b, o + 19, 16), arr3: b.readUInt32LE(o + 52), a: b.readUInt16LE(o + 56), b: b.readBigUInt64LE(o + 64) });
    });
    let made = 0;
    for (let round = 0; round < 80; round++) {
      const k = 1 + (round % 7); // 1..7 records per drain: the split falls on every offset in turn
      for (let i = 0; i < k; i++) void process.ppid;
      made += k;
      expect(rb.drain()).toBe(k);
    }
    expect(made * 80).toBeGreaterThan(4 * 4096); // several laps
    expect(got).toHaveLength(made);
    const comm = got[0].comm;
    expect(comm.length).toBeGreaterThan(0);
    for (const e of got) expect(e).toEqual({ len: 72, pid: process.pid, magic: 0x5a5a, small: 7, comm, arr3: 40, a: 7, b: 0x100000001n });
    expect(obj.map('lost_events').sumU64(Buffer.alloc(4))).toBe(0);
  });

  it('reads a fast stream in batches, not one wake-up per record, and loses nothing', async () => {
    // another process makes the events (getppid(2) 20,000 times once told to) while this one reads
    const child = spawn(process.execPath, ['-e', "process.stdin.once('data', () => { for (let i = 0; i < 20000; i++) void process.ppid; process.exit(0); })"], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise((r) => child.on('exit', r));
    const obj = openObj(good);
    obj.setConfig(rodata, { cfg_magic: 1, cfg_small: 1, cfg_label: 'x', cfg_pids: [child.pid!], cfg_npids: 1 });
    obj.skipMissingTracepoints();
    obj.load();
    obj.attachAll();
    let records = 0;
    let drains = 0;
    const rb = obj.ringBuffer('events', (b, o) => {
      if (b.readUInt32LE(o + 8) === child.pid) records++;
    }, { after: () => drains++ });
    rb.start();
    child.stdin!.write('go\n');
    await exited;
    const deadline = Date.now() + 10000;
    while (records < 20000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(records).toBe(20000);
    expect(obj.map('lost_events').sumU64(Buffer.alloc(4))).toBe(0);
    // a drain of fewer than 64 records pauses the reader for ~1 ms, so the records come in batches
    expect(drains).toBeLessThan(20000 / 16);
  });

  it('attaches raw_tp, tp_btf, uprobe, uretprobe and perf_event programs and they run', async () => {
    const obj = openObj(good);
    obj.setConfig(rodata, { cfg_pids: [process.pid], cfg_npids: 1, cfg_nr_getppid: process.arch === 'arm64' ? 173 : 110 });
    obj.skipMissingTracepoints();
    obj.load();
    obj.attachAll();
    const libc = findSystemLibrary('libc.so.6')!;
    expect(libc).toMatch(/libc/);
    obj.attachUprobe('corefix_uprobe', { binary: libc, func: 'getppid', pid: process.pid });
    obj.attachUprobe('corefix_uretprobe', { binary: libc, func: 'getppid', pid: process.pid, retprobe: true });
    obj.attachPerfEvent('corefix_perf', openPerfEvent({ type: PerfType.SOFTWARE, config: PerfSwConfig.TASK_CLOCK, period: 100_000, pid: process.pid }));
    const getppid = koffi.load(libc).func('int getppid(void)');
    for (let i = 0; i < 9; i++) expect(getppid()).toBe(process.ppid);
    const spin = Date.now() + 60;
    while (Date.now() < spin) { /* burn task-clock time for the perf event */ }
    const hits = obj.map('hits');
    const k = (i: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(i);
      return b;
    };
    // 9 calls through koffi and 9 reads of process.ppid, which libuv also makes through libc's getppid()
    expect(hits.sumU64(k(0))).toBe(18);
    expect(hits.sumU64(k(1))).toBe(18);
    expect(hits.sumU64(k(2))).toBe(18);
    expect(hits.sumU64(k(3))).toBe(18);
    expect(hits.sumU64(k(4))).toBeGreaterThan(10);
    expect(obj.attachedCount).toBe(6);
  });

  it('config errors name the variable', () => {
    const obj = openObj(good);
    expect(() => obj.setConfig(rodata, { cfg_nope: 1 })).toThrow(/no config variable cfg_nope/);
    expect(() => obj.setConfig(rodata, { cfg_label: 'far too long' })).toThrow(RecipesError);
    expect(() => obj.setConfig(rodata, { cfg_pids: Array(17).fill(1) })).toThrow(/does not fit/);
  });

  it('a missing object is a PreflightError naming the fix', () => {
    expect(() => BpfObject.open('/nonexistent/x.bpf.o')).toThrow(PreflightError);
  });

  it('a program the verifier rejects is a BpfError with the errno name and libbpf log', () => {
    const obj = openObj(bad);
    let err: unknown;
    try {
      obj.load();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    const e = err as BpfError;
    expect(['EACCES', 'EINVAL', 'EPERM']).toContain(e.code);
    expect(e.message).toMatch(/^load of corebad-\d+\.bpf\.o: E[A-Z]+ \(/);
    expect(e.log).toMatch(/invalid mem access|R\d .*null/i);
    expect(loadedPrograms('corebad_')).toEqual([]);
  });

  it('a verifier log far longer than 8 KiB is kept to its end (the failing instruction), in the error and with -v', () => {
    const loadErr = (o: BpfObject) => {
      try {
        o.load();
      } catch (e) {
        return e as BpfError;
      }
      throw new Error('corelong loaded: the fixture must be rejected');
    };
    const e = loadErr(openObj(long));
    expect(e).toBeInstanceOf(BpfError);
    const check = (log: string) => {
      expect(log.length).toBeGreaterThan(16384);
      const begin = log.indexOf('-- BEGIN PROG LOAD LOG --');
      const end = log.indexOf('-- END PROG LOAD LOG --');
      expect(begin).toBeGreaterThanOrEqual(0);
      expect(end).toBeGreaterThan(begin);
      // the reason comes after the 400 unrolled helper calls, right before the end marker
      const reason = log.slice(begin, end).search(/invalid mem access 'map_value_or_null'/);
      expect(reason).toBeGreaterThan(log.slice(begin, end).lastIndexOf('call bpf_get_prandom_u32'));
      expect(log.slice(begin, end).match(/call bpf_get_prandom_u32/g)!.length).toBeGreaterThanOrEqual(400);
    };
    check(e.log ?? '');
    expect(loadedPrograms('corelong_')).toEqual([]);

    // -v: libbpf's messages go to stderr as they come, whole
    let err = '';
    try {
      err = captureStderr(() => {
        const obj = BpfObject.open(long, { verbose: true });
        open.push(obj);
        loadErr(obj);
      });
    } finally {
      open.push(BpfObject.open(good)); // back to quiet
    }
    check(err);
  });

  it('the libbpf log level is the object\'s: a verbose object opened later does not make a quiet one stream', () => {
    const quiet = openObj(bad);
    const loud = BpfObject.open(good, { verbose: true });
    open.push(loud);
    let e: BpfError | undefined;
    const err = captureStderr(() => {
      try {
        quiet.load();
      } catch (x) {
        e = x as BpfError;
      }
    });
    expect(e).toBeInstanceOf(BpfError);
    expect(e!.log).toMatch(/invalid mem access|R\d .*null/i);
    expect(err).toBe('');
    // and the loud one streams its own load, while the quiet one's warnings stay its own
    const loudErr = captureStderr(() => {
      loud.skipMissingTracepoints();
      loud.load();
    });
    expect(loudErr).toMatch(/^libbpf\(/m);
    expect(quiet.log.take()).toEqual([]);
  });
});

/** What fn writes to this process's stderr (libbpf's streamed log goes through it), kept from the terminal. */
function captureStderr(fn: () => void): string {
  let err = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return err;
}
