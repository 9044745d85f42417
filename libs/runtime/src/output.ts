/**
 * stdout for tracing tools: written with write(2) on fd 1, in one call per batch of events
 * (a ring-buffer drain), so lines reach a pipe as soon as they exist and nothing waits in a
 * buffer at exit. A closed reader (EPIPE) is reported once through onClosed.
 */
import { writeSync } from 'node:fs';

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** a batch is written early past this many lines, or when the buffer is full: memory stays flat */
const MAX_BATCH_LINES = 4096;
const BUFFER_SIZE = 1 << 20;

export class Output {
  /** lines are encoded straight into this buffer: no joined string, no new Buffer per write */
  private readonly buf = Buffer.allocUnsafe(BUFFER_SIZE);
  private used = 0;
  private lines = 0;
  private batching = 0;
  closed = false;
  onClosed: (() => void) | undefined;

  constructor(private readonly fd = 1) {}

  /** Queue one line (without its newline); written now unless inside batch(). */
  line(s: string): void {
    if (this.closed) return;
    const worst = s.length * 3 + 1; // UTF-8 bytes at most, with the newline
    if (worst > BUFFER_SIZE) {
      this.flush();
      this.writeAll(Buffer.from(s + '\n', 'utf8'));
      return;
    }
    if (this.used + worst > BUFFER_SIZE) this.flush();
    this.used += this.buf.write(s, this.used, 'utf8');
    this.buf[this.used++] = 10;
    this.lines++;
    if (this.batching === 0 || this.lines >= MAX_BATCH_LINES) this.flush();
  }

  /** Run fn with writes held back, then write them in one go. */
  batch<T>(fn: () => T): T {
    this.batching++;
    try {
      return fn();
    } finally {
      this.batching--;
      if (this.batching === 0) this.flush();
    }
  }

  beginBatch(): void {
    this.batching++;
  }

  endBatch(): void {
    if (this.batching > 0) this.batching--;
    if (this.batching === 0) this.flush();
  }

  flush(): void {
    if (this.closed || this.used === 0) return;
    const data = this.buf.subarray(0, this.used);
    this.used = 0;
    this.lines = 0;
    this.writeAll(data);
  }

  private writeAll(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, 1);
          continue;
        }
        if (code === 'EPIPE' || code === 'EBADF') {
          this.closed = true;
          this.onClosed?.();
          return;
        }
        throw e;
      }
    }
  }
}

/** Diagnostics: one line to stderr, never into the data stream. */
export function note(s: string): void {
  try {
    writeSync(2, s.endsWith('\n') ? s : s + '\n');
  } catch {
    /* stderr gone: nothing to say it on */
  }
}
