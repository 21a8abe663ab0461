/**
 * Data dirs written by the single broker that came before replication: the topic image in
 * `<dataDir>/__meta/metadata.json` (metadata-store.ts) and each partition's segments in
 * `<dataDir>/<topic>-<p>/`. A broker that starts on one imports it once, keeping every record
 * where it is: the topics are created again with their ids and this broker as their only
 * replica, and each partition directory is claimed for its topic before its replica opens.
 * A replica that opens on a directory without raft state starts its raft log where the segments
 * end (partition-raft-storage.ts), so everything written before stays readable below it.
 *
 * Not carried over: idempotent producers' sequence state (a producer resumes with a new
 * InitProducerId, as after any broker restart that lost its session).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../log/files.js';
import { loadMetadata, metadataDir } from './metadata-store.js';
import type { MetadataState } from './metadata-state.js';

/** Written into every partition directory: the topic id it belongs to. */
export const PARTITION_IDENTITY = 'partition.identity';
const MARKER = 'imported-into-raft.json';
const TOPIC_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface LegacyTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly internal: boolean;
  readonly configs: Readonly<Record<string, string>>;
}

export interface LegacyData {
  readonly topics: readonly LegacyTopic[];
  /** The first producer id the single broker had not handed out. */
  readonly nextProducerId: number;
}

/** A single-broker image that has not been imported yet, or null. */
export async function findLegacyData(dataDir: string, nodeId: number): Promise<LegacyData | null> {
  const dir = metadataDir(dataDir);
  if (!fs.existsSync(path.join(dir, 'metadata.json')) || fs.existsSync(path.join(dir, MARKER))) return null;
  const { state } = await loadMetadata(dataDir, nodeId);
  return { topics: legacyTopics(state), nextProducerId: state.nextProducerId };
}

function legacyTopics(state: MetadataState): LegacyTopic[] {
  const out: LegacyTopic[] = [];
  for (const t of state.topics.values()) {
    // Ids from before they were UUIDs get a fresh one; the directories are claimed with it.
    const topicId = TOPIC_ID.test(t.topicId) ? t.topicId : randomUUID();
    out.push({ name: t.name, topicId, partitions: t.partitions, internal: t.internal, configs: { ...t.configs } });
  }
  return out;
}

/**
 * Claims each partition directory the single broker left for its topic, so opening the new
 * replica keeps its segments. A directory already claimed (an import interrupted after this
 * step) is left as it is.
 */
export async function claimLegacyPartitionDirs(dataDir: string, legacy: LegacyData): Promise<number> {
  let claimed = 0;
  for (const t of legacy.topics) {
    for (let p = 0; p < t.partitions; p++) {
      const dir = path.join(dataDir, `${t.name}-${p}`);
      if (!fs.existsSync(dir) || fs.existsSync(path.join(dir, PARTITION_IDENTITY))) continue;
      await writeFileAtomic(path.join(dir, PARTITION_IDENTITY), `${t.topicId}\n`);
      claimed++;
    }
  }
  return claimed;
}

/** Records that the import is complete; the image in `__meta/` is kept, but never read again. */
export async function markLegacyImported(dataDir: string, legacy: LegacyData): Promise<void> {
  const marker = { importedAt: new Date().toISOString(), topics: legacy.topics.map((t) => t.name) };
  await writeFileAtomic(path.join(metadataDir(dataDir), MARKER), JSON.stringify(marker, null, 1) + '\n');
}
