/** Small JSON records with a checksum: what a flipped read, a damaged file and an older file give. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCheckedJson, encodeCheckedJson, readCheckedJson } from '../../../src/log/checked-json.js';
import { FlippingFileSystem } from '../../helpers/flipping-fs.js';
import { tmpDataDir } from '../../helpers/tmp.js';

describe('checked JSON records', () => {
  it('round-trips, and a flipped digit that still parses fails the checksum', () => {
    const text = encodeCheckedJson({ logStartOffset: 120, recoveryPoint: 4096 });
    expect(decodeCheckedJson(Buffer.from(text))).toEqual({ value: { logStartOffset: 120, recoveryPoint: 4096 } });
    const flipped = Buffer.from(text);
    const at = text.indexOf('120') + 1;
    flipped[at] = (flipped[at] as number) ^ 0x01; // '2' -> '3': still JSON, another offset
    expect(JSON.parse(flipped.toString('utf8').split('\n')[0] as string)).toEqual({ logStartOffset: 130, recoveryPoint: 4096 });
    expect(decodeCheckedJson(flipped)).toEqual({ error: 'fails its checksum' });
  });

  it('reads a file written before the checksum existed as plain JSON', () => {
    expect(decodeCheckedJson(Buffer.from('{"version":1,"firstDirtyOffset":7}\n'))).toEqual({ value: { version: 1, firstDirtyOffset: 7 } });
    expect(decodeCheckedJson(Buffer.from('{"version":1,'))).toMatchObject({ error: expect.stringMatching(/^is not JSON/) });
  });

  it('reads again past a flipped read; a file bad on every read throws naming it; a missing one is null', async () => {
    const dir = tmpDataDir();
    const file = path.join(dir, 'record.json');
    writeFileSync(file, encodeCheckedJson({ offset: 5 }));
    const once = new FlippingFileSystem();
    once.flipOnce('record.json', 3, 0x02);
    expect(await readCheckedJson(file, once)).toEqual({ offset: 5 });
    expect(once.flipped).toBe(1);
    const always = new FlippingFileSystem();
    always.flipAlways('record.json', 3, 0x02);
    await expect(readCheckedJson(file, always)).rejects.toThrow(`${file} fails its checksum on 4 reads`);
    expect(await readCheckedJson(path.join(dir, 'missing.json'), always)).toBeNull();
  });
});
