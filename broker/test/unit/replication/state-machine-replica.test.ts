/** A replicated in-memory state machine (as the metadata image uses): apply, compaction, snapshots. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogConfig } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { MessageType } from '../../../src/raft/types.js';
import { openStateMachineReplica } from '../../../src/replication/open-replica.js';
import { NotLeaderError, type ReplicatedState, type StateMachineReplica } from '../../../src/replication/state-machine-replica.js';
import { RaftNet, type NetBroker } from '../../helpers/raft-net.js';

const logConfig: LogConfig = {
  segmentBytes: 2048,
  segmentMs: 7 * 24 * 3600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
};

/** A key-value map; commands are "key=value". */
class KvState implements ReplicatedState {
  map = new Map<string, string>();
  applied: number[] = [];
  apply(command: Buffer, index: number): void {
    const [k, v] = command.toString().split('=');
    this.map.set(k ?? '', v ?? '');
    this.applied.push(index);
  }
  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify([...this.map]));
  }
  restore(data: Uint8Array): void {
    this.map = new Map(JSON.parse(Buffer.from(data).toString()) as [string, string][]);
  }
}

interface App {
  replica: StateMachineReplica;
  state: KvState;
}

function net(snapshotEvery: number): RaftNet<App> {
  return new RaftNet<App>({
    tickMs: 15,
    open: async ({ id, host, logs, journal }) => {
      const state = new KvState();
      const replica = await openStateMachineReplica({
        host,
        logManager: logs,
        journal,
        topic: '__cluster_metadata',
        partition: 0,
        group: 0,
        nodeId: id,
        voters: [0, 1, 2],
        logConfig,
        state,
        timing: { electionTicks: 10, heartbeatTicks: 1 },
        logger: silentLogger(),
        snapshotEvery,
      });
      return { replica, state };
    },
    close: (a) => a.replica.close(),
  });
}

async function leaderOf(n: RaftNet<App>): Promise<NetBroker<App>> {
  let found: NetBroker<App> | undefined;
  await n.until(() => (found = n.running().find((b) => b.app.replica.isLeader())) !== undefined, 'a leader');
  return found as NetBroker<App>;
}

/** Proposes at whoever leads, retrying across leader changes. */
async function put(n: RaftNet<App>, kv: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const l = await leaderOf(n);
    try {
      await l.app.replica.propose(Buffer.from(kv));
      return;
    } catch (err) {
      if (!(err instanceof NotLeaderError)) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`could not propose ${kv}`);
}

let n: RaftNet<App>;
afterEach(async () => n.close());

describe('state machine replica', () => {
  it('every replica applies the same commands in the same order', async () => {
    n = net(1000);
    for (const id of [0, 1, 2]) await n.start(id);
    for (let i = 0; i < 30; i++) await put(n, `k${i % 7}=v${i}`);
    const l = await leaderOf(n);
    for (const b of n.running()) await n.until(() => b.app.replica.applied === l.app.replica.applied, `broker ${b.id} applied all`);
    const ref = [...l.app.state.map];
    for (const b of n.running()) {
      expect([...b.app.state.map]).toEqual(ref);
      expect(b.app.state.applied).toEqual(l.app.state.applied);
    }
  });

  it('a follower refuses proposals with the leader named', async () => {
    n = net(1000);
    for (const id of [0, 1, 2]) await n.start(id);
    await put(n, 'a=1');
    const l = await leaderOf(n);
    const f = n.running().find((b) => b !== l) as NetBroker<App>;
    await n.until(() => f.app.replica.leader() === l.id, 'follower knows the leader');
    const err = await f.app.replica.propose(Buffer.from('b=2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leader).toBe(l.id);
  });

  it('compacts into snapshots, restores from them after a restart, and installs them on a follower that fell behind', async () => {
    n = net(10);
    for (const id of [0, 1, 2]) await n.start(id);
    await put(n, 'first=1');
    const l0 = await leaderOf(n);
    const lagging = n.running().find((b) => b !== l0) as NetBroker<App>;
    await n.kill(lagging.id);
    for (let i = 0; i < 80; i++) await put(n, `key${i % 13}=${i}`);
    const l = await leaderOf(n);
    await n.until(() => l.app.replica.storage.snapshot().index >= 60, 'leader compacted');
    // Old segments are gone from the leader's log directory.
    await n.until(() => readdirSync(path.join(l.dir, '__cluster_metadata-0')).filter((f) => f.endsWith('.log')).length < 10, 'segments deleted');
    let snapshotsSent = 0;
    n.drop = (_from, to, m) => {
      if (to === lagging.id && m.type === MessageType.InstallSnapshot) snapshotsSent++;
      return false;
    };
    const back = await n.restart(lagging.id);
    await n.until(() => back.app.replica.applied === l.app.replica.applied, 'lagging follower caught up', 20_000);
    expect([...back.app.state.map]).toEqual([...l.app.state.map]);
    expect(snapshotsSent).toBeGreaterThan(0);
    expect(back.app.replica.storage.snapshot().index).toBeGreaterThan(0);
    // A restart of the leader itself comes back from its own snapshot plus the entries after it.
    const before = [...l.app.state.map];
    const again = await n.restart(l.id);
    await n.until(() => again.app.replica.applied >= l.app.replica.applied, 'restarted leader replayed');
    expect([...again.app.state.map]).toEqual(before);
  });
});
