/**
 * The typed API's shapes: a tool's events as an async iterable (`trace()`), a tool's in-kernel
 * aggregation as snapshots (`start()`). Both own a Session and detach on close().
 */
import type { BpfMap } from '@bpf-recipes/core';
import { Session, sessionOptions, type CommonTraceOptions, type SessionOptions } from './session.js';
import { TracedCommand, type CommandExit } from './command.js';

/** The command a trace runs (`command` in the options): it is started once everything is attached. */
export interface CommandRun {
  /** its process (this process's PID namespace's number) */
  readonly pid: number;
  /**
   * How it ended (its exit code, or the signal that killed it; `status` as a shell gives it),
   * once it and every process it started have exited. Rejects when it could not be started.
   */
  readonly exited: Promise<CommandExit>;
}

/**
 * Start the session's command, if it has one, held until its process is in the traced set; `end`
 * runs once it and everything it started have exited.
 */
function runCommand(session: Session, end: () => Promise<void>): CommandRun | undefined {
  const options = session.options.command;
  if (!options) return undefined;
  const cmd = TracedCommand.start(options, session.options.tool);
  const exited = cmd
    .release(session)
    .then(() => cmd.ended(session))
    .then(async (x) => {
      await end();
      return x;
    }, async (e: unknown) => {
      cmd.abandon();
      await end();
      throw e;
    });
  // a rejection is the caller's to see (exited), not an unhandled one
  exited.catch(() => undefined);
  return { pid: cmd.pid, exited };
}

/** A tool's events as they happen: `for await (const e of t)`; `break` (or close()) detaches. */
export interface EventStream<E> extends AsyncIterableIterator<E> {
  /** events the kernel dropped because the ring buffer was full */
  readonly lost: number;
  /** detach, deliver what is left to the iterator, free the objects; the iteration then ends */
  close(): Promise<void>;
  /** with `command`: the command; the iteration ends by itself once it and what it started have exited */
  readonly command?: CommandRun;
}

/** A tool's in-kernel aggregation, read on demand. */
export interface Aggregation<S> {
  /** what the kernel counted since start (totals, not deltas) */
  snapshot(): S;
  readonly lost: number;
  /** detach and free; snapshot() after close() throws */
  close(): Promise<void>;
  /** with `command`: the command; `await command.exited`, then snapshot() covers all of it */
  readonly command?: CommandRun;
}

/**
 * Build a tool's EventStream: `setup` opens, configures, attaches and follows on the session and
 * hands each decoded record to `emit`. Errors of setup (PreflightError, UsageError, LoadError,
 * AttachError) are thrown here, with nothing left attached.
 */
export function eventStream<E>(options: SessionOptions, setup: (session: Session, emit: (e: E) => void) => void): EventStream<E> {
  const session = new Session(options);
  const queue: E[] = [];
  const waiting: ((r: IteratorResult<E>) => void)[] = [];
  let ended = false;
  let closing: Promise<void> | undefined;
  let finalLost = 0;
  const emit = (e: E) => {
    if (ended) return;
    const w = waiting.shift();
    if (w) w({ value: e, done: false });
    else queue.push(e);
  };
  try {
    setup(session, emit);
  } catch (e) {
    session.close();
    throw e;
  }
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await session.detach();
      } finally {
        finalLost = session.lost();
        session.close();
        ended = true;
        for (const w of waiting.splice(0)) w({ value: undefined, done: true });
      }
    })();
    return closing;
  };
  let command: CommandRun | undefined;
  try {
    command = runCommand(session, close);
  } catch (e) {
    session.close();
    throw e;
  }
  const stream: EventStream<E> = {
    command,
    get lost() {
      return session.isClosed ? finalLost : session.lost();
    },
    close,
    next(): Promise<IteratorResult<E>> {
      if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((res) => waiting.push(res));
    },
    async return(): Promise<IteratorResult<E>> {
      await close();
      queue.length = 0;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}

/**
 * Build a tool's Aggregation: `setup` opens, configures and attaches on the session and returns
 * the function that reads the maps.
 */
export function aggregation<S>(options: SessionOptions, setup: (session: Session) => () => S): Aggregation<S> {
  const session = new Session(options);
  let read: () => S;
  try {
    read = setup(session);
  } catch (e) {
    session.close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  let finalLost = 0;
  let stopped = false;
  const close = () => {
    closing ??= session.detach().finally(() => {
      finalLost = session.lost();
      session.close();
    });
    return closing;
  };
  let command: CommandRun | undefined;
  try {
    // the counts stay readable when the command ends: the programs are detached, the maps kept
    command = runCommand(session, async () => {
      if (!stopped && !session.isClosed) {
        stopped = true;
        await session.detach();
      }
    });
  } catch (e) {
    session.close();
    throw e;
  }
  return {
    command,
    snapshot() {
      if (session.isClosed) throw new Error('snapshot() after close()');
      return read();
    },
    get lost() {
      return session.isClosed ? finalLost : session.lost();
    },
    close,
  };
}

/**
 * An event tool's trace(): a session with the tool's common options; `setup` opens, loads and
 * attaches the tool's object and says which ring buffer to follow and how one of its records
 * becomes the tool's record. Throws PreflightError/UsageError/LoadError/AttachError; `break` or
 * close() detaches.
 */
export function traceEvents<R>(
  tool: string,
  options: CommonTraceOptions,
  setup: (session: Session) => { ring: BpfMap; record: (b: Buffer, off: number) => R },
): EventStream<R> {
  return eventStream<R>(sessionOptions(tool, options), (session, emit) => {
    const { ring, record } = setup(session);
    session.follow(ring, (b, off) => emit(record(b, off)));
  });
}
