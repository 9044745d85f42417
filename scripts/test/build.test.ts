// The build is always right: on a throwaway copy of this checkout, build, build again (all from nx's
// cache, every generated file there), edit the shared BPF header and build (the objects that include
// it are recompiled and their decoders regenerated, the others left alone), edit only a comment
// (nothing downstream rebuilt), put the header back (the cache restores the matching objects).
// After each build every object (one per architecture) and decoder must equal a from-scratch
// compile of the sources. A record that differs between architectures fails the build.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// builds run asynchronously: a worker blocked for minutes loses its link to vitest
const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HEADER = 'libs/bpf-headers/include/recipes.h';

/** A copy of the checkout as it is on disk (tracked and new files, not ignored ones), with git. */
function throwawayClone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-build-'));
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', root, dir]);
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' });
  for (const f of git('ls-files', '-z', '--cached', '--others', '--exclude-standard').split('\0').filter(Boolean)) {
    if (existsSync(join(root, f))) cpSync(join(root, f), join(dir, f), { recursive: true });
    else rmSync(join(dir, f), { force: true });
  }
  // node_modules as npm ci made it (its workspace links are relative, so they point into the copy);
  // hard links where possible: fast, and nothing in a build writes into node_modules
  try {
    execFileSync('cp', ['-al', join(root, 'node_modules'), join(dir, 'node_modules')]);
  } catch {
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
    execFileSync('cp', ['-a', join(root, 'node_modules'), join(dir, 'node_modules')]);
  }
  return dir;
}

interface Build { out: string; tasks: Map<string, 'cache' | 'run'> }

let dir: string;
const bpfTools = readdirSync(join(root, 'tools')).filter((t) => existsSync(join(root, 'tools', t, 'bpf')));
const TARGETS = ['x86', 'arm64'];
/** tools/NAME → the objects it builds (one per architecture), and whether their sources include recipes.h */
const objects = bpfTools.flatMap((t) =>
  readdirSync(join(root, 'tools', t, 'bpf')).filter((f) => f.endsWith('.bpf.c')).map((f) => {
    const name = f.replace(/\.bpf\.c$/, '');
    const srcs = readdirSync(join(root, 'tools', t, 'bpf')).map((s) => readFileSync(join(root, 'tools', t, 'bpf', s), 'utf8'));
    return {
      tool: t,
      project: JSON.parse(readFileSync(join(root, 'tools', t, 'package.json'), 'utf8')).name as string,
      name,
      objs: TARGETS.map((a) => `tools/${t}/dist/bpf/${name}.${a}.bpf.o`),
      gen: `tools/${t}/src/generated/${name}.ts`,
      usesHeader: srcs.some((s) => /#include\s+"recipes\.h"/.test(s)),
    };
  }));
const generated = [...objects.flatMap((o) => [...o.objs, o.gen]), 'libs/format/src/generated/syscalls.ts'];

async function build(): Promise<Build> {
  const { stdout: out } = await run('npm', ['run', 'build'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_VERBOSE_LOGGING: 'false' },
    maxBuffer: 64 << 20,
  });
  const tasks = new Map<string, 'cache' | 'run'>();
  for (const m of out.matchAll(/^> nx run (\S+)(.*)$/gm)) tasks.set(m[1], /\[(local cache|existing outputs match the cache)/.test(m[2]) ? 'cache' : 'run');
  return { out, tasks };
}
const snapshot = () =>
  new Map(generated.map((f) => {
    const p = join(dir, f);
    return [f, existsSync(p) ? { sha: createHash('sha256').update(readFileSync(p)).digest('hex'), mtime: statSync(p).mtimeMs } : undefined];
  }));
/** Every object and decoder equals a from-scratch compile of the current sources. */
async function expectAllCurrent() {
  const outs = await Promise.all(bpfTools.map((t) =>
    run('node', [join(dir, 'scripts', 'build-bpf.mjs'), '--check'], { cwd: join(dir, 'tools', t), encoding: 'utf8' })));
  for (const { stdout } of outs) {
    expect(stdout).not.toMatch(/STALE/);
    expect(stdout).toMatch(/current, src\/generated\/\S+ current/);
  }
}
const logOf = (b: Build, o: (typeof objects)[number]) => b.out.match(new RegExp(`build-bpf: ${o.tool}/${o.name}\\.bpf\\.c: ([^\\n]*)`))?.[1];

describe('nx build on a fresh clone', () => {
  beforeAll(() => {
    dir = throwawayClone();
  }, 120_000);
  // removing the clone's node_modules (hard links, tens of thousands of files) outlasts the default 10 s on a busy machine
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  let first: ReturnType<typeof snapshot>;
  it('builds every object, decoder and the syscall table from scratch', async () => {
    expect(objects.filter((o) => o.usesHeader).length).toBeGreaterThan(0);
    expect(objects.filter((o) => !o.usesHeader).length).toBeGreaterThan(0); // the umbrella's doctor
    const b = await build();
    expect([...b.tasks.values()].every((s) => s === 'run')).toBe(true);
    first = snapshot();
    for (const f of generated) expect(first.get(f), f).toBeDefined();
    await expectAllCurrent();
  }, 1_200_000);

  it('builds again from the cache alone, and every generated file is still there', async () => {
    const b = await build();
    expect(b.tasks.size).toBeGreaterThanOrEqual(objects.length * 2);
    expect([...b.tasks].filter(([, s]) => s === 'run')).toEqual([]);
    const again = snapshot();
    for (const f of generated) expect(again.get(f)?.sha, f).toBe(first.get(f)?.sha);
    // the syscall table (libs/format's, for syscount and syslatency) is current: regenerating it changes nothing
    execFileSync('node', ['scripts/gen-syscalls.mjs'], { cwd: join(dir, 'libs', 'format') });
    expect(snapshot().get('libs/format/src/generated/syscalls.ts')).toEqual(again.get('libs/format/src/generated/syscalls.ts'));
    // same bytes as the first build, which was checked against a fresh compile
  }, 300_000);

  let original: string;
  let edited: ReturnType<typeof snapshot>;
  it('after an edit of recipes.h, recompiles what includes it and nothing else', async () => {
    const before = snapshot();
    original = readFileSync(join(dir, HEADER), 'utf8');
    // a comment, and a config variable: every object that includes the header gains it, and so
    // does the config layout of its decoder
    appendFileSync(join(dir, HEADER), '\n/* build test */\nconst volatile __u32 cfg_build_test = 0;\n');
    const b = await build();
    edited = snapshot();
    for (const o of objects) {
      expect(b.tasks.get(`${o.project}:build-bpf`), o.tool).toBe('run');
      const gen = readFileSync(join(dir, o.gen), 'utf8');
      if (o.usesHeader) {
        expect(logOf(b, o), o.gen).toMatch(new RegExp(`^${TARGETS.map((a) => `compiled -> dist/bpf/${o.name}\\.${a}\\.bpf\\.o`).join('; ')}; .*written$`));
        for (const obj of o.objs) expect(edited.get(obj)?.sha, obj).not.toBe(before.get(obj)?.sha);
        expect(gen, o.gen).toContain('cfg_build_test');
        // and the tool's compiled output was rebuilt from the new decoder
        expect(readFileSync(join(dir, 'tools', o.tool, 'dist', 'src', 'generated', `${o.name}.js`), 'utf8')).toContain('cfg_build_test');
      } else {
        expect(logOf(b, o), o.gen).toMatch(/^up to date ->.*unchanged$/);
        for (const obj of o.objs) expect(edited.get(obj), obj).toEqual(before.get(obj)); // same bytes, not even rewritten
        expect(edited.get(o.gen), o.gen).toEqual(before.get(o.gen));
        expect(gen).not.toContain('cfg_build_test');
      }
    }
    expect(edited.get('libs/format/src/generated/syscalls.ts')?.sha).toBe(before.get('libs/format/src/generated/syscalls.ts')?.sha);
    await expectAllCurrent();
  }, 1_200_000);

  it('after a comment-only edit, rebuilds nothing downstream of the unchanged objects', async () => {
    appendFileSync(join(dir, HEADER), '/* only a comment */\n');
    const b = await build();
    const now = snapshot();
    for (const o of objects) {
      expect(logOf(b, o), o.gen).toMatch(o.usesHeader ? /^compiled, object unchanged ->.*unchanged$/ : /^up to date ->.*unchanged$/);
      for (const obj of o.objs) expect(now.get(obj), obj).toEqual(edited.get(obj));
      expect(now.get(o.gen), o.gen).toEqual(edited.get(o.gen));
    }
    expect([...b.tasks].filter(([t, s]) => t.endsWith(':build') && s === 'run')).toEqual([]);
    // the objects were compiled afresh ("compiled, object unchanged") or their inputs are unchanged
  }, 1_200_000);

  it('with the header put back, restores the matching objects from the cache', async () => {
    writeFileSync(join(dir, HEADER), original);
    const b = await build();
    expect([...b.tasks].filter(([, s]) => s === 'run')).toEqual([]);
    const back = snapshot();
    for (const f of generated) expect(back.get(f)?.sha, f).toBe(first.get(f)?.sha);
    // same bytes as the first build, from the same sources
  }, 300_000);

  it('a record laid out differently on arm64 than on x86 fails the build, naming both lines', async () => {
    const h = join(dir, 'tools', 'killsnoop', 'bpf', 'killsnoop.h');
    const text = readFileSync(h, 'utf8');
    writeFileSync(h, text.replace('\t__s32 pidfd;', '\t__s32 pidfd;\n#if defined(__TARGET_ARCH_arm64)\n\t__u32 arm64_only;\n#endif'));
    const r = await run('node', [join(dir, 'scripts', 'build-bpf.mjs')], { cwd: join(dir, 'tools', 'killsnoop'), encoding: 'utf8' }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    writeFileSync(h, text);
    expect(r?.code).toBe(1);
    expect(r?.stderr).toMatch(/^build-bpf: killsnoop\/killsnoop: the x86 and arm64 objects differ in layout, so one decoder cannot serve both:$/m);
    expect(r?.stderr).toMatch(/^ {2}x86: .*\n {2}arm64: /m);
  }, 300_000);
});
