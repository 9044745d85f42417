/**
 * Asynchronous work done synchronously: symbolization is synchronous (a stack is named where it is
 * printed), but the two things it may need from outside have only asynchronous APIs here — xz
 * decompression (xz-decompress, WebAssembly behind a web stream) and HTTP (debuginfod). One worker
 * thread, started on first use and never keeping the process alive, does them while the caller
 * waits on a shared word (Atomics.wait); the answer comes back through a message port read without
 * the event loop (receiveMessageOnPort). The worker bumps a progress count while it works (each
 * chunk of a download): the caller gives up only after `stallMs` without progress, and then ends
 * the worker (a new one starts on the next call).
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

// The worker's code (CommonJS, run by `eval`): its packages are loaded relative to this file
// (createRequire(base)('xz-decompress'): scripts/pack.mjs reads that as a run-time dependency).
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { createRequire } = require('node:module');
const fs = require('node:fs');
const { port, shared, base } = workerData;
const progress = () => Atomics.add(shared, 1, 1);
const ops = {
  async xz(data) {
    const { XzReadableStream } = createRequire(base)('xz-decompress');
    const input = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(data)); c.close(); } });
    const reader = new XzReadableStream(input).getReader();
    const chunks = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      progress();
    }
    return Buffer.concat(chunks);
  },
  // GET url into file (through file.tmp.PID, renamed when whole): { status, bytes }; the request is
  // abandoned when no byte comes for stallMs
  async fetch({ url, file, stallMs }) {
    const ac = new AbortController();
    let timer;
    const arm = () => { clearTimeout(timer); timer = setTimeout(() => ac.abort(), stallMs); };
    arm();
    try {
      const res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
      if (res.status !== 200) { await res.body?.cancel(); return { status: res.status, bytes: 0 }; }
      const tmp = file + '.tmp.' + process.pid;
      const fd = fs.openSync(tmp, 'w', 0o644);
      let bytes = 0;
      try {
        for await (const chunk of res.body) {
          arm();
          progress();
          fs.writeSync(fd, chunk);
          bytes += chunk.length;
        }
      } catch (e) {
        fs.closeSync(fd);
        fs.rmSync(tmp, { force: true });
        throw e;
      }
      fs.closeSync(fd);
      fs.renameSync(tmp, file);
      return { status: 200, bytes };
    } catch (e) {
      if (ac.signal.aborted) throw new Error('no answer for ' + stallMs / 1000 + ' s');
      throw new Error((e && e.cause && e.cause.code) || (e && e.message) || String(e));
    } finally {
      clearTimeout(timer);
    }
  },
};
parentPort.on('message', async ({ op, arg }) => {
  let m;
  try {
    m = { ok: await ops[op](arg) };
  } catch (e) {
    m = { error: String((e && e.message) || e) };
  }
  port.postMessage(m);
  Atomics.store(shared, 0, 1);
  Atomics.notify(shared, 0);
});
`;

export class BlockingWorkerError extends Error {}

let worker: Worker | undefined;
let port: MessagePort | undefined;
// [0]: 1 when an answer is waiting; [1]: the worker's progress count
const shared = new Int32Array(new SharedArrayBuffer(8));

function start(): Worker {
  if (worker) return worker;
  const channel = new MessageChannel();
  worker = new Worker(WORKER, { eval: true, workerData: { port: channel.port2, shared, base: import.meta.url }, transferList: [channel.port2] });
  worker.unref();
  port = channel.port1;
  return worker;
}

function stop(): void {
  void worker?.terminate();
  port?.close();
  worker = undefined;
  port = undefined;
}

/**
 * Run `op` in the worker and wait for its answer; throws BlockingWorkerError with the worker's
 * message, or when it made no progress for `stallMs` (it is then ended).
 */
export function runBlocking<T>(op: 'xz' | 'fetch', arg: unknown, stallMs: number): T {
  const w = start();
  Atomics.store(shared, 0, 0);
  w.postMessage({ op, arg });
  let seen = Atomics.load(shared, 1);
  for (;;) {
    if (Atomics.wait(shared, 0, 0, stallMs) !== 'timed-out') break;
    const now = Atomics.load(shared, 1);
    if (now === seen) {
      stop();
      throw new BlockingWorkerError(`no progress for ${stallMs / 1000} s`);
    }
    seen = now;
  }
  const m = receiveMessageOnPort(port!)?.message as { ok?: T; error?: string } | undefined;
  if (!m) {
    stop();
    throw new BlockingWorkerError('the worker gave no answer');
  }
  if (m.error !== undefined) throw new BlockingWorkerError(m.error);
  return m.ok as T;
}

/** The contents of an .xz stream (the whole of it; throws on a corrupt one). */
export function xzDecompress(data: Buffer, stallMs = 10000): Buffer {
  const out = runBlocking<Uint8Array>('xz', data, stallMs);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
