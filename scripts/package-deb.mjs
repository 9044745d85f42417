#!/usr/bin/env node
// npm run package:deb — bpf-recipes_<version>_<arch>.deb with dpkg-deb: every tool, the umbrella
// command and the man pages; installed under /usr/lib/bpf-recipes (node_modules made from the npm
// tarballs of dist-packages/, production dependencies only), every command in /usr/lib/bpf-recipes/bin,
// /usr/sbin/bpf-recipes, /usr/sbin/<tool> through update-alternatives wherever the name is free (so
// that Debian's libbpf-tools, with commands of the same names, can stay installed: docs/packaging.md),
// man pages in /usr/share/man/man8. The BPF objects are inside, prebuilt.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
// --arch ARCH: the Debian architecture of the package (default this machine's); the tarballs are
// the same for every architecture (each tool carries one BPF object per architecture), only the
// native part of koffi differs: npm installs the one of that CPU
const { ARCHES } = await import(pathToFileURL(join(root, 'libs', 'core', 'dist', 'arch.js')).href);
const argv = process.argv.slice(2);
const archAt = argv.indexOf('--arch');
const arch = archAt >= 0 ? argv[archAt + 1] : execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const target = ARCHES.find((a) => a.debian === arch);
if (!target || argv.some((a, i) => a !== '--arch' && i !== archAt + 1)) {
  console.error(`package-deb: ${target ? `unknown argument ${argv.find((a, i) => a !== '--arch' && i !== archAt + 1)}` : `--arch ${arch ?? ''}: not one of ${ARCHES.map((a) => a.debian).join(', ')}`} (usage: npm run package:deb [-- --arch ${ARCHES.map((a) => a.debian).join('|')}])`);
  process.exit(2);
}
// the oldest Node.js the packages support: their engines field, ">=X.Y"
const nodeVersion = /^>=\s*([\d.]+)$/.exec(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node)[1];
const tarballs = join(root, 'dist-packages');
const stage = join(root, 'dist-deb', 'root');
const lib = join(stage, 'usr', 'lib', 'bpf-recipes');
rmSync(join(root, 'dist-deb'), { recursive: true, force: true });
mkdirSync(lib, { recursive: true });

const tgz = readdirSync(tarballs).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs, f));
if (!tgz.length) {
  console.error('package-deb: no tarballs in dist-packages/ (npm run pack:all)');
  process.exit(1);
}
writeFileSync(join(lib, 'package.json'), JSON.stringify({ name: 'bpf-recipes-bundle', version, private: true }, null, 2) + '\n');
execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock', '--os=linux', `--cpu=${target.node}`, ...tgz], { cwd: lib, stdio: ['ignore', 'ignore', 'inherit'] });

// commands: /usr/lib/bpf-recipes/bin/<name> -> the package's launcher, for every command;
// /usr/sbin/bpf-recipes -> that; /usr/sbin/<tool> is an alternative (maintainer scripts below)
const bins = JSON.parse(readFileSync(join(lib, 'node_modules', '@bpf-recipes', 'umbrella', 'package.json'), 'utf8'));
const tools = Object.keys(bins.dependencies).filter((d) => d.startsWith('@bpf-recipes/') && !/\/(cli|core|format|metrics|runtime)$/.test(d)).map((d) => d.split('/')[1]);
const libBin = join(lib, 'bin');
const sbin = join(stage, 'usr', 'sbin');
const man8 = join(stage, 'usr', 'share', 'man', 'man8');
mkdirSync(libBin, { recursive: true });
mkdirSync(sbin, { recursive: true });
mkdirSync(man8, { recursive: true });
const { manPage, loadToolSpec } = await import(pathToFileURL(join(lib, 'node_modules', '@bpf-recipes', 'cli', 'dist', 'index.js')).href);
/** the commands of the tool packages, each linked in /usr/sbin through update-alternatives */
const toolCommands = [];
for (const t of [...tools, 'umbrella']) {
  const pkg = JSON.parse(readFileSync(join(lib, 'node_modules', '@bpf-recipes', t, 'package.json'), 'utf8'));
  for (const [cmd, rel] of Object.entries(pkg.bin)) {
    symlinkSync(`../node_modules/@bpf-recipes/${t}/${rel}`, join(libBin, cmd));
    if (t === 'umbrella') symlinkSync(`../lib/bpf-recipes/bin/${cmd}`, join(sbin, cmd));
    else toolCommands.push(cmd);
  }
  if (t === 'umbrella') continue;
  const src = join(lib, 'node_modules', '@bpf-recipes', t, 'dist', 'src');
  const spec = await loadToolSpec(src);
  writeFileSync(join(man8, `${t}.8.gz`), gzipSync(manPage(spec, { date: new Date().toISOString().slice(0, 10) })));
}
const umbrellaMan = [
  `.TH BPF-RECIPES 8 "${new Date().toISOString().slice(0, 10)}" "bpf-recipes ${version}" "bpf-recipes"`,
  '.SH NAME', 'bpf\\-recipes \\- ready\\-made eBPF tracing tools: list them, check the machine, run one',
  '.SH SYNOPSIS', '.B bpf\\-recipes', 'list | doctor [\\-\\-json] | TOOL [ARGS]',
  '.SH COMMANDS',
  '.TP', '\\fBlist\\fR', 'each tool with a one\\-line description',
  '.TP', '\\fBdoctor\\fR [\\fB\\-\\-json\\fR]', 'what this kernel and machine support (BTF, tracefs, privileges, libbpf, cgroup v2), which BPF program types load and attach (tracepoint, raw_tp, tp_btf, uprobe, kprobe, fentry, perf_event, cgroup_sock), tried for real, and which tools work here',
  '.TP', '\\fBexporter\\fR [\\fB\\-\\-listen\\fR \\fIADDR\\fR] [\\fB\\-\\-tools\\fR \\fIa,b\\fR] [\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-\\-allow\\-remote\\fR]',
  'serve the Prometheus metrics of several tools on one port (default 127.0.0.1:9469; every tool with metrics that works here); the systemd unit bpf\\-recipes\\-exporter.service (disabled) runs it, with options from /etc/default/bpf\\-recipes\\-exporter',
  '.TP', '\\fITOOL\\fR [\\fIARGS\\fR]', 'run a tool: \\fBbpf\\-recipes opensnoop \\-T\\fR is \\fBopensnoop \\-T\\fR',
  '.SH TOOLS', tools.map((t) => `.BR ${t.replace(/-/g, '\\-')} (8)`).join(',\n'),
  '',
].join('\n');
writeFileSync(join(man8, 'bpf-recipes.8.gz'), gzipSync(umbrellaMan));

// bash completion: the script `bpf-recipes completion` prints (yargs'), where bash-completion looks
// for each command by name: one file, every tool a symlink to it (it binds them all)
const completions = join(stage, 'usr', 'share', 'bash-completion', 'completions');
mkdirSync(completions, { recursive: true });
const umbrellaBin = join(lib, 'node_modules', '@bpf-recipes', 'umbrella', bins.bin['bpf-recipes']);
writeFileSync(join(completions, 'bpf-recipes'), execFileSync(process.execPath, [umbrellaBin, 'completion', 'bash'], { encoding: 'utf8' }));
for (const t of tools) symlinkSync('bpf-recipes', join(completions, t));

// the exporter's systemd unit, disabled: nothing here enables or starts it
const units = join(stage, 'usr', 'lib', 'systemd', 'system');
mkdirSync(units, { recursive: true });
copyFileSync(join(root, 'scripts', 'deb', 'bpf-recipes-exporter.service'), join(units, 'bpf-recipes-exporter.service'));
chmodSync(join(units, 'bpf-recipes-exporter.service'), 0o644);

const size = Number(execFileSync('du', ['-sk', stage], { encoding: 'utf8' }).split('\t')[0]);
mkdirSync(join(stage, 'DEBIAN'));
writeFileSync(join(stage, 'DEBIAN', 'control'), [
  'Package: bpf-recipes',
  `Version: ${version}`,
  `Architecture: ${arch}`,
  'Maintainer: bpf-recipes developers <bpf-recipes@localhost>',
  'Section: admin',
  'Priority: optional',
  `Installed-Size: ${size}`,
  `Depends: nodejs (>= ${nodeVersion}), libbpf1 (>= 1:1.0)`,
  'Description: ready-made eBPF tracing tools (opensnoop, syscount, killsnoop, biosnoop, ...)',
  ` ${tools.join(', ')}, and the bpf-recipes command (list, doctor).`,
  ' Tracepoints and uprobes only: they run on kernels without kprobes or headers.',
  ' Needs a kernel with BTF; the BPF objects are prebuilt (CO-RE).',
  '',
].join('\n'));
chmodSync(join(stage, 'DEBIAN', 'control'), 0o644);

// maintainer scripts: /usr/sbin/<tool> through update-alternatives wherever no other package owns
// that path. Where one does (libbpf-tools' opensnoop, syscount, killsnoop, biosnoop, gethostlatency,
// offcputime), its file stays, and our command is `bpf-recipes <tool>` or /usr/lib/bpf-recipes/bin/<tool>. A file
// trigger on each /usr/sbin/<tool> runs the postinst again whenever another package installs or
// removes that path, so the link appears once the name is free, and our registration goes once it is
// taken. update-alternatives --remove deletes whatever symlink is at the link path (libbpf-tools'
// killsnoop is one, to sigsnoop): another package's symlink is moved aside while it runs.
const unregister = [
  '# drop our alternative for $1, keeping a file another package has at /usr/sbin/$1',
  'unregister() {',
  '  update-alternatives --query "$1" >/dev/null 2>&1 || return 0',
  '  if [ -L "/usr/sbin/$1" ] && dpkg-query -S "/usr/sbin/$1" >/dev/null 2>&1; then',
  '    mv "/usr/sbin/$1" "/usr/sbin/.$1.bpf-recipes-keep"',
  '    rc=0',
  '    update-alternatives --remove "$1" "/usr/lib/bpf-recipes/bin/$1" || rc=$?',
  '    mv "/usr/sbin/.$1.bpf-recipes-keep" "/usr/sbin/$1"',
  '    return $rc',
  '  else',
  '    update-alternatives --remove "$1" "/usr/lib/bpf-recipes/bin/$1"',
  '  fi',
  '}',
];
const maintainerScripts = {
  postinst: [
    '#!/bin/sh',
    'set -e',
    ...unregister,
    'case "$1" in',
    '  configure|triggered|abort-upgrade|abort-remove|abort-deconfigure)',
    `    for c in ${toolCommands.join(' ')}; do`,
    '      if owner=$(dpkg-query -S "/usr/sbin/$c" 2>/dev/null); then',
    '        [ "$1" = triggered ] || echo "bpf-recipes: /usr/sbin/$c belongs to ${owner%%:*}; ours runs as: bpf-recipes $c (or /usr/lib/bpf-recipes/bin/$c)"',
    '        unregister "$c"',
    '      else',
    '        update-alternatives --install "/usr/sbin/$c" "$c" "/usr/lib/bpf-recipes/bin/$c" 50',
    '      fi',
    '    done',
    '    [ -d /run/systemd/system ] && systemctl --system daemon-reload >/dev/null 2>&1 || true',
    '    ;;',
    'esac',
    '',
  ],
  prerm: [
    '#!/bin/sh',
    'set -e',
    ...unregister,
    'case "$1" in',
    '  remove|deconfigure)',
    '    if [ -d /run/systemd/system ]; then systemctl stop bpf-recipes-exporter.service >/dev/null 2>&1 || true; fi',
    `    for c in ${toolCommands.join(' ')}; do`,
    '      unregister "$c"',
    '    done',
    '    ;;',
    'esac',
    '',
  ],
};
for (const [name, lines] of Object.entries(maintainerScripts)) {
  writeFileSync(join(stage, 'DEBIAN', name), lines.join('\n'));
  chmodSync(join(stage, 'DEBIAN', name), 0o755);
}
writeFileSync(join(stage, 'DEBIAN', 'triggers'), toolCommands.map((c) => `interest-noawait /usr/sbin/${c}\n`).join(''));
chmodSync(join(stage, 'DEBIAN', 'triggers'), 0o644);
const deb = join(root, 'dist-packages', `bpf-recipes_${version}_${arch}.deb`);
execFileSync('dpkg-deb', ['--build', '--root-owner-group', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
console.log(`package-deb: ${deb} (${tools.length} tools, ${size} KiB installed)`);
