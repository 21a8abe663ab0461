/**
 * Static membership (KIP-345) with a real client: librdkafka through kcat with
 * group.instance.id. A member that crashes and comes back with the same instance id within its
 * session timeout gets its partitions back without a rebalance of the others; one that stays
 * away is expired after the session timeout and its partitions move.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/index.js';

const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
const TOPIC = 'static-topic';
const GROUP = 'static-group';
const PARTITIONS = 4;
const SESSION_MS = 6000;

let broker: BrokerProcess;
const children = new Set<ChildProcess>();

interface KcatMember {
  readonly child: ChildProcess;
  /** Partitions from the latest assignment. */
  owned: number[];
  /** How many times librdkafka reported a rebalance (assigned or revoked). */
  rebalances: number;
}

function startMember(instanceId: string): KcatMember {
  const child = spawn(
    'kcat',
    [
      '-b', broker.bootstrap, '-G', GROUP,
      '-X', `group.instance.id=${instanceId}`,
      '-X', `session.timeout.ms=${SESSION_MS}`,
      '-X', 'heartbeat.interval.ms=300',
      '-X', 'auto.offset.reset=earliest',
      TOPIC,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  const m: KcatMember = { child, owned: [], rebalances: 0 };
  // kcat reports rebalances on stderr: "% Group G rebalanced (memberid ...): assigned: t [0], t [1]".
  createInterface({ input: child.stderr! }).on('line', (line) => {
    const r = /rebalanced .*: (assigned|revoked): (.*)$/.exec(line);
    if (!r) return;
    m.rebalances++;
    const parts = [...(r[2] ?? '').matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
    m.owned = r[1] === 'assigned' ? parts.sort((a, b) => a - b) : m.owned.filter((p) => !parts.includes(p));
  });
  return m;
}

function crash(m: KcatMember): Promise<void> {
  return new Promise((resolve) => {
    if (m.child.exitCode !== null || m.child.signalCode !== null) return resolve();
    m.child.once('exit', () => resolve());
    m.child.kill('SIGKILL');
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const covers = (ms: KcatMember[]) => {
  const all = ms.flatMap((m) => m.owned).sort((a, b) => a - b);
  return all.length === PARTITIONS && all.every((p, i) => p === i) && ms.every((m) => m.owned.length > 0);
};

async function describeGroup(): Promise<{ state: string; members: number }> {
  const admin = new Kafka({ clientId: 'static-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const g = (await admin.describeGroups([GROUP])).groups[0]!;
    return { state: g.state, members: g.members.length };
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  if (!hasKcat) return;
  broker = await startBrokerProcess({ args: ['--config', 'group.initial.rebalance.delay.ms=200', '--config', 'offsets.topic.num.partitions=4'] });
  const admin = new Kafka({ clientId: 'setup', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await broker?.stop();
});

describe.runIf(hasKcat)('static membership with librdkafka (kcat)', () => {
  it('a crashed static member rejoining in time keeps its partitions without rebalancing the others; one that stays away expires', async () => {
    const a = startMember('host-a');
    const b = startMember('host-b');
    await waitFor('a and b share the partitions', () => covers([a, b]));
    const bOwned = [...b.owned];
    const aRebalances = a.rebalances;

    // b crashes (SIGKILL: no LeaveGroup) and comes straight back with the same instance id.
    await crash(b);
    const b2 = startMember('host-b');
    await waitFor('b is back with its partitions', () => b2.owned.length > 0, 15_000);
    expect(b2.owned).toEqual(bOwned);
    // a saw nothing: no revoke, no new assignment.
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.rebalances).toBe(aRebalances);
    expect(await describeGroup()).toEqual({ state: 'Stable', members: 2 });

    // b crashes again and stays away: after the session timeout a owns everything.
    const crashedAt = Date.now();
    await crash(b2);
    await waitFor('a owns all partitions after b expired', () => covers([a]), SESSION_MS + 15_000);
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(SESSION_MS - 1000);
    await crash(a);
  }, 90_000);
});
