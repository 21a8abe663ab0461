import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureHelm } from '../../e2e/lib/tools.js';

/** helm v4 (from the e2e tooling) must lint and render the chart cleanly in every shape. */
describe('helm chart', () => {
  const chart = 'charts/chronik';
  const helm = (args: string[]): Promise<string> =>
    ensureHelm().then((h) => execFileSync(h, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));

  it('lints clean with default and with all-options values', async () => {
    const a = await helm(['lint', chart, '--strict']);
    expect(a).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const b = await helm(['lint', chart, '--strict', '--set', 'cluster.enabled=true', '--set', 'watchNamespaces={team-a,team-b}', '--set', 'serviceMonitorRbac=false']);
    expect(b).toMatch(/0 chart\(s\) failed/);
    expect(`${a}${b}`).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('renders the CRD from crds/ (single source), least-privilege RBAC and the operator', async () => {
    const out = await helm(['template', 'rel', chart, '--namespace', 'ops', '--include-crds']);
    const crd = readFileSync('crds/chronik.io_chronikclusters.yaml', 'utf8');
    expect(realpathSync(`${chart}/crds/chronik.io_chronikclusters.yaml`)).toBe(realpathSync('crds/chronik.io_chronikclusters.yaml'));
    expect(out).toContain(crd.split('\n').slice(0, 6).join('\n'));
    expect(out).toMatch(/kind: ClusterRole\n/);
    expect(out).not.toMatch(/verbs: \["\*"\]|resources: \["\*"\]/);
    expect(out).toContain('kind: Deployment');
    expect(out).toContain('readOnlyRootFilesystem: true');
    expect(out).toContain('coordination.k8s.io');
    expect(out).not.toContain('kind: ChronikCluster\nmetadata');
  });

  it('watchNamespaces gives namespaced Roles only; cluster.enabled renders a ChronikCluster', async () => {
    const out = await helm(['template', 'rel', chart, '--namespace', 'ops', '--set', 'watchNamespaces={team-a,team-b}', '--set', 'cluster.enabled=true', '--set', 'cluster.spec.replicas=5']);
    expect(out.match(/^kind: Role$/gm)?.length).toBe(3);
    expect(out).toMatch(/namespace: team-a/);
    expect(out).toMatch(/kind: ChronikCluster\n[\s\S]*replicas: 5/);
    expect(out).toContain('value: "team-a,team-b"');
    // Only the nodes-read ClusterRole remains cluster-wide.
    expect(out.match(/^kind: ClusterRole$/gm)?.length).toBe(1);
  });
});
