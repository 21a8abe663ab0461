/**
 * The nemesis's tools on real containers of the broker image: two stand-alone brokers (no
 * cluster needed), a cut between them that the host does not see, pause and resume, and kill -9
 * and restart keeping the data dir. Needs root (nsenter); installs and starts Docker where it is missing, and builds the image if missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDataDir } from '../../broker/test/helpers/tmp.js';
import { dockerBuild, ensureDocker, imageExists } from '../../e2e/lib/docker.js';
import { isRoot, run } from '../../e2e/lib/exec.js';
import { REPO_ROOT } from '../../e2e/lib/suite.js';
import { DockerCluster, KAFKA_PORT } from '../harness/docker-cluster.js';
import { applyRules, healNetwork, listRules, rulesForGroups } from '../harness/network-faults.js';
import { createTopic, endOffsets, hostKafka } from '../harness/workload.js';

const IMAGE = process.env.CHRONIK_CHAOS_IMAGE ?? 'chronik/broker:chaos';
// Docker need not run yet (a fresh machine has only the client, or nothing): ensureDocker
// installs and starts it, as the fault run does; only a non-root run cannot.
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
const dockerUsable = process.platform === 'linux' && isRoot() && (has('docker') || has('apt-get'));

async function reachable(cluster: DockerCluster, fromId: number, toId: number): Promise<boolean> {
  const to = cluster.node(toId);
  const probe = `timeout 2 bash -c '</dev/tcp/${to.ip}/${KAFKA_PORT}' 2>/dev/null && echo open || echo closed`;
  const r = await run('docker', ['exec', cluster.node(fromId).containerId, 'bash', '-c', probe], { allowFailure: true });
  return r.stdout.trim() === 'open';
}

describe.skipIf(!dockerUsable)('fault tools on broker containers (Docker, root)', () => {
  let cluster: DockerCluster | undefined;

  beforeAll(async () => {
    await ensureDocker();
    if (!(await imageExists(IMAGE))) await dockerBuild({ dockerfile: join(REPO_ROOT, 'Dockerfile.broker'), tag: IMAGE, context: REPO_ROOT });
    cluster = await DockerCluster.start({
      runId: `test${Date.now().toString(36)}`,
      image: IMAGE,
      brokers: 2,
      voters: 2,
      dataRoot: tmpDataDir('chronik-chaos-docker-'),
      clusterFlags: false,
      config: [],
    });
    expect(await cluster.waitReady(60_000)).toEqual([]);
  }, 600_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('cuts two brokers apart while the host reaches both, and heals', async () => {
    const c = cluster!;
    expect(await reachable(c, 0, 1)).toBe(true);
    await applyRules(c, rulesForGroups([[0], [1]]));
    expect(await listRules(c, c.node(1))).toEqual([`-A CHRONIK_CHAOS -s ${c.node(0).ip}/32 -j DROP`]);
    expect(await reachable(c, 0, 1)).toBe(false);
    expect(await reachable(c, 1, 0)).toBe(false);
    expect(await c.ready(c.node(0))).toBe(true);
    expect(await c.ready(c.node(1))).toBe(true);
    await healNetwork(c);
    expect(await listRules(c, c.node(1))).toEqual([]);
    expect(await reachable(c, 0, 1)).toBe(true);
  });

  it('cuts one way only', async () => {
    const c = cluster!;
    await applyRules(c, [{ at: 1, from: [0], probability: 1 }]);
    expect(await reachable(c, 0, 1)).toBe(false);
    // 1 -> 0: the SYN arrives, but 0's answer comes from 0's address, which 1 drops.
    expect(await reachable(c, 1, 0)).toBe(false);
    await healNetwork(c);
    expect(await reachable(c, 1, 0)).toBe(true);
  });

  it('pauses and resumes a broker', async () => {
    const c = cluster!;
    const n = c.node(0);
    await c.pause(n);
    expect(n.state).toBe('paused');
    expect(await c.ready(n)).toBe(false);
    await c.resume(n);
    expect(await c.waitReady(30_000, [n])).toEqual([]);
  });

  it('kills with SIGKILL and restarts on the same data dir', async () => {
    const c = cluster!;
    const kafka = hostKafka(c, 'chaos-docker-test');
    await createTopic(kafka, 'kept', 1, 1, 60_000);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kept', acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    expect((await endOffsets(kafka, 'kept')).get(0)).toBe(2);
    const holder = c.nodes.find((x) => existsSync(join(x.dataDir, 'kept-0')));
    expect(holder).toBeDefined();
    await c.kill(holder!);
    expect(await c.running(holder!)).toBe(false);
    const exit = (await run('docker', ['inspect', '-f', '{{.State.ExitCode}}', holder!.containerId])).stdout.trim();
    expect(exit).toBe('137');
    expect(readdirSync(join(holder!.dataDir, 'kept-0')).some((f) => f.endsWith('.log'))).toBe(true);
    await c.start(holder!);
    expect(await c.waitReady(60_000, [holder!])).toEqual([]);
    expect((await endOffsets(kafka, 'kept')).get(0)).toBe(2);
  });
});
