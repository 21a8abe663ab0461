import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyMetadataRecord } from '../../../src/cluster/metadata-state.js';
import { loadMetadata, metadataDir, saveMetadata } from '../../../src/cluster/metadata-store.js';
import { tmpDataDir } from '../../helpers/tmp.js';

describe('metadata store', () => {
  it('creates a cluster id on first start and round-trips state through an fsynced snapshot', async () => {
    const dir = tmpDataDir();
    const first = await loadMetadata(dir);
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
    });
    await saveMetadata(dir, s1);
    const again = await loadMetadata(dir);
    expect(again.fresh).toBe(false);
    expect(again.state.clusterId).toBe(first.state.clusterId);
    expect(again.state.version).toBe(1);
    expect(again.state.topics.get('t')).toEqual(s1.topics.get('t'));
    // No temp file is left behind after the atomic replace.
    expect(await readdir(metadataDir(dir))).toEqual(['metadata.json']);
  });

  it('refuses to start on a corrupt snapshot instead of silently forgetting topics', async () => {
    const dir = tmpDataDir();
    await loadMetadata(dir);
    await writeFile(join(metadataDir(dir), 'metadata.json'), '{"format":1,"clusterId":');
    await expect(loadMetadata(dir)).rejects.toThrow(/not valid JSON/);
    await writeFile(join(metadataDir(dir), 'metadata.json'), '{"format":99}');
    await expect(loadMetadata(dir)).rejects.toThrow(/unrecognised/);
  });
});
