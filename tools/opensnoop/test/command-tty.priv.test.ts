// Privileged: `opensnoop -o FILE -- COMMAND` on a terminal (a pseudo-terminal script(1) makes):
// the command keeps the terminal — it reads what the user types and is in the terminal's
// foreground, so Ctrl-C typed there reaches it (and the tool, which then ends with the command's
// status); the tool's output goes to FILE, the command's to the terminal.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { skipPrivileged, toolBin, uniquePath } from '@bpf-recipes/testing';

/** Run `line` in a shell on a new pseudo-terminal; `type` what a user types once `ready` shows on it. */
function onTerminal(line: string, ready: RegExp, type: string[]): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    // -e: script exits with the command's status; -f: what the terminal shows, as it shows it
    const p = spawn('script', ['-qefc', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let typed = false;
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`no end in 30 s; the terminal showed:\n${screen}`));
    }, 30000);
    p.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (!typed && ready.test(screen)) {
        typed = true;
        // one keystroke group at a time, as a user types
        type.forEach((t, i) => setTimeout(() => p.stdin.write(t), 300 * (i + 1)));
      }
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

describe.skipIf(skipPrivileged())('opensnoop -- COMMAND on a terminal', () => {
  it('the command reads what is typed on the terminal; the tool writes to -o FILE; exit status is the command\'s', async () => {
    const f = uniquePath('tty-read');
    writeFileSync(f, 'x\n');
    const out = uniquePath('tty-out');
    // the command says it is waiting, reads a line from the terminal, then opens the file
    const cmd = `${toolBin('opensnoop')} --json -o ${out} -- sh -c 'echo waiting; read word; echo "got:$word"; cat ${f} >/dev/null; exit 5'`;
    const r = await onTerminal(cmd, /waiting/, ['hello\r']);
    expect(r.code, r.screen).toBe(5);
    expect(r.screen).toContain('got:hello');
    const opens = readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('{"')).map((l) => JSON.parse(l) as { comm: string; path: string });
    expect(opens.filter((o) => o.path === f).map((o) => o.comm)).toEqual(['cat']);
    // the tool's own output is in the file, not on the terminal
    expect(r.screen).not.toContain('"path"');
  });

  it('Ctrl-C typed on the terminal reaches the command in the foreground; the tool ends with 128+2', async () => {
    const out = uniquePath('tty-int');
    const cmd = `${toolBin('opensnoop')} --json -o ${out} -- sh -c 'echo waiting; sleep 30'`;
    const r = await onTerminal(cmd, /waiting/, ['\x03']);
    expect(r.code, r.screen).toBe(130);
  });
});
