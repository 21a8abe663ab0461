/**
 * Which cluster and broker a data directory belongs to, recorded at its first start. A broker
 * started on the data dir of another node id or another cluster refuses to start (it would
 * otherwise take part in raft groups with somebody else's log).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../log/files.js';
import { loadMetadata } from './metadata-store.js';

export const IDENTITY_FILE = 'chronik-broker.json';

export class DataDirMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirMismatchError';
  }
}

interface Identity {
  readonly version: 1;
  readonly clusterId: string;
  readonly nodeId: number;
}

/**
 * Returns the cluster id to run with: the configured one, else the recorded one, else (a new
 * single broker) the id a pre-raft data dir recorded, else a new one. Throws
 * DataDirMismatchError when the data dir belongs to another node or cluster.
 */
export async function claimDataDir(dataDir: string, nodeId: number, configuredClusterId: string | null): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, IDENTITY_FILE);
  let recorded: Identity | null = null;
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as Partial<Identity>;
    if (v.version !== 1 || typeof v.clusterId !== 'string' || !Number.isSafeInteger(v.nodeId)) throw new Error('unknown format');
    recorded = { version: 1, clusterId: v.clusterId, nodeId: v.nodeId as number };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataDirMismatchError(`${file} is not a Chronik broker identity (${(err as Error).message}); refusing to start`);
    }
  }
  if (recorded !== null) {
    if (recorded.nodeId !== nodeId) {
      throw new DataDirMismatchError(`data dir ${dataDir} belongs to broker ${recorded.nodeId}, not ${nodeId}; refusing to start`);
    }
    if (configuredClusterId !== null && configuredClusterId !== recorded.clusterId) {
      throw new DataDirMismatchError(`data dir ${dataDir} belongs to cluster ${recorded.clusterId}, not ${configuredClusterId}; refusing to start`);
    }
    return recorded.clusterId;
  }
  let clusterId = configuredClusterId;
  if (clusterId === null && existsSync(path.join(dataDir, '__meta'))) clusterId = (await loadMetadata(dataDir, nodeId)).state.clusterId;
  clusterId ??= randomUUID();
  const identity: Identity = { version: 1, clusterId, nodeId };
  await writeFileAtomic(file, JSON.stringify(identity) + '\n');
  return clusterId;
}
