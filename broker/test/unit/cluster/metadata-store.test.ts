import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyMetadataRecord } from '../../../src/cluster/metadata-state.js';
import { loadMetadata, metadataDir, saveMetadata } from '../../../src/cluster/metadata-store.js';
import { tmpDataDir } from '../../helpers/tmp.js';

describe('metadata store', () => {
  it('creates a cluster id on first start and round-trips state through an fsynced snapshot', async () => {
    const dir = tmpDataDir();
    const first = await loadMetadata(dir, 1);
    expect(first.fresh).toBe(true);
    expect(first.state.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const s1 = applyMetadataRecord(first.state, {
      type: 'create-topic',
      name: 't',
      topicId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      partitions: 2,
      replicationFactor: 1,
      internal: false,
      configs: { 'segment.bytes': '1048576' },
      assignments: [[1], [1]],
    });
    await saveMetadata(dir, s1);
    const again = await loadMetadata(dir, 1);
    expect(again.fresh).toBe(false);
    expect(again.state).toEqual(s1);
    // No temp file is left behind after the atomic replace.
    expect(await readdir(metadataDir(dir))).toEqual(['metadata.json']);
  });

  it('reads a topics-only (format 1) snapshot, giving every partition this broker as its replica', async () => {
    const dir = tmpDataDir();
    await loadMetadata(dir, 4);
    const v1 = {
      format: 1,
      clusterId: 'abcdefghijklmnopqrstuv',
      version: 7,
      topics: [{ name: 'old', topicId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', partitions: 2, replicationFactor: 1, internal: false, configs: {} }],
    };
    await writeFile(join(metadataDir(dir), 'metadata.json'), JSON.stringify(v1));
    const { state } = await loadMetadata(dir, 4);
    expect(state.clusterId).toBe('abcdefghijklmnopqrstuv');
    expect(state.version).toBe(7);
    expect(state.topics.get('old')?.partitionImages.map((p) => p.replicas)).toEqual([[4], [4]]);
    // Saving writes the current format, which loads back to the same image.
    await saveMetadata(dir, state);
    expect(JSON.parse(await readFile(join(metadataDir(dir), 'metadata.json'), 'utf8'))).toMatchObject({ format: 2 });
    expect((await loadMetadata(dir, 4)).state).toEqual(state);
  });

  it('refuses to start on a corrupt snapshot instead of silently forgetting topics', async () => {
    const dir = tmpDataDir();
    await loadMetadata(dir, 1);
    const file = join(metadataDir(dir), 'metadata.json');
    await writeFile(file, '{"format":1,"clusterId":');
    await expect(loadMetadata(dir, 1)).rejects.toThrow(/not valid JSON/);
    await writeFile(file, '{"format":99}');
    await expect(loadMetadata(dir, 1)).rejects.toThrow(/unrecognised/);
    await writeFile(file, JSON.stringify({ format: 2, image: { clusterId: 'x', version: 'one' } }));
    await expect(loadMetadata(dir, 1)).rejects.toThrow(/field version: expected an integer.*refusing to start/);
  });
});
