/**
 * Durable home of the single-broker metadata: one small JSON snapshot in `<dataDir>/__meta/`,
 * replaced atomically (write temp, fsync, rename, fsync directory) so a crash leaves either the
 * old or the new file, never a torn one. Format 2 holds the whole image in the same JSON form as
 * a metadata Raft snapshot; format 1 (topics only) is still read.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { MetadataCodecError, metadataImageFromJson, metadataImageToJson } from './metadata-codec.js';
import type { MetadataState, TopicImage } from './metadata-state.js';
import { emptyMetadataState, newPartitionImage } from './metadata-state.js';
import type { TopicInfo } from './types.js';

const FORMAT = 2;
const FORMAT_TOPICS_ONLY = 1;
const FILE = 'metadata.json';

/** Kafka cluster ids are a UUID in URL-safe base64 without padding (22 characters). */
export function newClusterId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
}

export function metadataDir(dataDir: string): string {
  return join(dataDir, '__meta');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseTopic(v: unknown, file: string): TopicInfo {
  if (
    !isRecord(v) ||
    typeof v.name !== 'string' ||
    typeof v.topicId !== 'string' ||
    typeof v.partitions !== 'number' ||
    typeof v.replicationFactor !== 'number' ||
    typeof v.internal !== 'boolean' ||
    !isRecord(v.configs)
  ) {
    throw new Error(`${file}: malformed topic entry ${JSON.stringify(v)}`);
  }
  const configs: Record<string, string> = {};
  for (const [k, c] of Object.entries(v.configs)) {
    if (typeof c !== 'string') throw new Error(`${file}: topic ${v.name} config ${k} is not a string`);
    configs[k] = c;
  }
  return {
    name: v.name,
    topicId: v.topicId,
    partitions: v.partitions,
    replicationFactor: v.replicationFactor,
    internal: v.internal,
    configs,
  };
}

/**
 * Loads the snapshot, or creates a fresh state with a new cluster id on first start. A format 1
 * snapshot predates replica assignments: its topics were created on this broker alone, so each
 * partition gets `localNodeId` as its only replica.
 */
export async function loadMetadata(dataDir: string, localNodeId: number): Promise<{ state: MetadataState; fresh: boolean }> {
  const dir = metadataDir(dataDir);
  await mkdir(dir, { recursive: true });
  const file = join(dir, FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyMetadataState(newClusterId()), fresh: true };
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); refusing to start with unknown metadata`);
  }
  if (isRecord(raw) && raw.format === FORMAT) {
    try {
      return { state: metadataImageFromJson(raw.image), fresh: false };
    } catch (err) {
      if (err instanceof MetadataCodecError) throw new Error(`${file}: ${err.message}; refusing to start with unknown metadata`);
      throw err;
    }
  }
  if (
    !isRecord(raw) ||
    raw.format !== FORMAT_TOPICS_ONLY ||
    typeof raw.clusterId !== 'string' ||
    typeof raw.version !== 'number' ||
    !Array.isArray(raw.topics)
  ) {
    throw new Error(`${file}: unrecognised metadata snapshot (expected format ${FORMAT} or ${FORMAT_TOPICS_ONLY})`);
  }
  const topics = new Map<string, TopicImage>();
  let seq = 1;
  for (const t of raw.topics) {
    const topic = parseTopic(t, file);
    const partitionImages = Array.from({ length: topic.partitions }, () => newPartitionImage([localNodeId]));
    topics.set(topic.name, { ...topic, seq: seq++, partitionImages });
  }
  return { state: { ...emptyMetadataState(raw.clusterId), version: raw.version, topics, nextTopicSeq: seq }, fresh: false };
}

export async function saveMetadata(dataDir: string, state: MetadataState): Promise<void> {
  const dir = metadataDir(dataDir);
  const snapshot = { format: FORMAT, image: metadataImageToJson(state) };
  const tmp = join(dir, `${FILE}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(snapshot, null, 1));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, FILE));
  // The rename itself is only durable once the directory entry is fsynced.
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
