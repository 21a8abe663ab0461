import { existsSync, readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { cachePath, VERSIONS, withLock } from './cache.js';
import { log, run, which } from './exec.js';

export const KUBE_BINARIES = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'kubectl',
  'kubeadm',
] as const;
export type KubeBinary = (typeof KUBE_BINARIES)[number];

function goBinary(): string {
  const go = which('go');
  if (!go) {
    throw new Error('the Go toolchain (go >= 1.24) is needed to build Kubernetes from the Go module proxy; install it and put it on PATH');
  }
  return go;
}

function goEnv(): NodeJS.ProcessEnv {
  // Static binaries: they run on the host and inside containers alike.
  return { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
}

/** The -X flags that upstream's build sets, so components report their real version (helm and kubectl check it). */
function versionLdflags(version: string): string {
  const m = /^v(\d+)\.(\d+)\./.exec(version);
  if (!m) throw new Error(`bad Kubernetes version ${version}`);
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(
      `-X ${pkg}.gitVersion=${version}`,
      `-X ${pkg}.gitMajor=${m[1]}`,
      `-X ${pkg}.gitMinor=${m[2]}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.gitCommit=0000000000000000000000000000000000000000`,
      `-X ${pkg}.buildDate=2026-01-01T00:00:00Z`,
    );
  }
  return flags.join(' ');
}

/**
 * Writes the throwaway module that builds Kubernetes: k8s.io/kubernetes replaces its staging
 * modules with ./staging paths that a module download does not carry, so `go install pkg@v`
 * is refused; requiring it from our own module and pointing each staging module at its
 * published v0.X release gives the same sources.
 */
async function prepareKubernetesModule(dir: string): Promise<void> {
  const v = VERSIONS.kubernetes;
  const go = goBinary();
  const tools = ['//go:build tools', '', 'package tools', '', 'import (', ...KUBE_BINARIES.map((b) => `\t_ "k8s.io/kubernetes/cmd/${b}"`), ')', ''].join('\n');
  // A module resolved for fewer commands lacks the go.sum lines of the new ones: resolve again.
  const toolsPath = join(dir, 'tools.go');
  if (existsSync(join(dir, 'go.sum')) && existsSync(toolsPath) && readFileSync(toolsPath, 'utf8') === tools) return;
  mkdirSync(dir, { recursive: true });
  const dl = await run(go, ['mod', 'download', '-json', `k8s.io/kubernetes@${v}`], { cwd: dir, env: goEnv() });
  const info = JSON.parse(dl.stdout) as { GoMod?: string; Error?: string };
  if (!info.GoMod) throw new Error(`go mod download k8s.io/kubernetes@${v}: ${info.Error ?? 'no go.mod'}`);
  const upstream = readFileSync(info.GoMod, 'utf8');
  const staging = [...upstream.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s*=>\s*\.\/staging\//gm)].map((m) => m[1]);
  if (staging.length === 0) throw new Error('found no staging replace directives in k8s.io/kubernetes go.mod');
  const goMod = [
    'module chronik.local/e2e-k8s-build',
    '',
    'go 1.24.0',
    '',
    'godebug default=go1.24',
    '',
    `require k8s.io/kubernetes ${v}`,
    '',
    'replace (',
    ...staging.map((m) => `\t${m} => ${m} ${VERSIONS.kubernetesStaging}`),
    ')',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'go.mod'), goMod);
  writeFileSync(toolsPath, tools);
  log(`resolving Kubernetes ${v} modules (go mod tidy)`);
  await run(go, ['mod', 'tidy'], { cwd: dir, env: goEnv() });
}

/**
 * Builds the requested Kubernetes binaries at the pinned version (cached). Returns the
 * directory that holds them.
 */
export async function ensureKubernetesBinaries(wanted: readonly KubeBinary[] = KUBE_BINARIES): Promise<string> {
  const root = cachePath(`k8s-${VERSIONS.kubernetes}`);
  const bin = cachePath(`k8s-${VERSIONS.kubernetes}`, 'bin');
  const missing = () => wanted.filter((b) => !existsSync(join(bin, b)));
  if (missing().length === 0) return bin;
  await withLock(`k8s-${VERSIONS.kubernetes}`, async () => {
    const todo = missing();
    if (todo.length === 0) return;
    const moduleDir = join(root, 'module');
    await prepareKubernetesModule(moduleDir);
    const started = Date.now();
    log(`building ${todo.join(', ')} ${VERSIONS.kubernetes} from the Go module proxy (first run only; ~10-25 min on 2 cores)`);
    const tmp = join(root, 'bin.tmp');
    mkdirSync(tmp, { recursive: true });
    await run(
      goBinary(),
      ['build', '-trimpath', '-ldflags', versionLdflags(VERSIONS.kubernetes), '-o', tmp + '/', ...todo.map((b) => `k8s.io/kubernetes/cmd/${b}`)],
      { cwd: moduleDir, env: goEnv() },
    );
    for (const b of todo) renameSync(join(tmp, b), join(bin, b));
    log(`built ${todo.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`);
  });
  return bin;
}

/**
 * Builds one main package of a Go module at a pinned version through a throwaway module, which
 * works whether or not the upstream go.mod has replace directives for local development.
 */
export async function ensureGoBinary(spec: {
  name: string;
  module: string;
  version: string;
  pkg: string;
  replaces?: Record<string, string>;
  ldflags?: string;
}): Promise<string> {
  const root = cachePath(`go-${spec.name}-${spec.version}`);
  const out = join(root, spec.name);
  if (existsSync(out)) return out;
  await withLock(`go-${spec.name}-${spec.version}`, async () => {
    if (existsSync(out)) return;
    const go = goBinary();
    const dir = join(root, 'module');
    mkdirSync(dir, { recursive: true });
    const replaces = Object.entries(spec.replaces ?? {});
    writeFileSync(
      join(dir, 'go.mod'),
      [
        `module chronik.local/e2e-${spec.name}-build`,
        '',
        'go 1.24.0',
        '',
        `require ${spec.module} ${spec.version}`,
        '',
        ...(replaces.length ? ['replace (', ...replaces.map(([m, v]) => `\t${m} => ${m} ${v}`), ')', ''] : []),
      ].join('\n'),
    );
    writeFileSync(join(dir, 'tools.go'), `//go:build tools\n\npackage tools\n\nimport _ "${spec.pkg}"\n`);
    const started = Date.now();
    log(`building ${spec.name} ${spec.version} from the Go module proxy`);
    await run(go, ['mod', 'tidy'], { cwd: dir, env: goEnv() });
    await run(go, ['build', '-trimpath', '-ldflags', spec.ldflags ?? '-s -w', '-o', out + '.tmp', spec.pkg], { cwd: dir, env: goEnv() });
    renameSync(out + '.tmp', out);
    log(`built ${spec.name} in ${Math.round((Date.now() - started) / 1000)} s`);
  });
  return out;
}
