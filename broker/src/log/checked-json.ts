/**
 * Small JSON records (raft snapshot record, checkpoints, the clean-shutdown marker) with a
 * CRC-32C after them. Their numbers steer recovery (where the log starts, what is trusted, where
 * it ends), and a bit flipped in a digit still parses: the checksum tells such a read from the
 * record. A read that fails its checksum is taken again, since one flipped bit on the way is not
 * the file; a file that fails on every read is damaged. Files written before the checksum existed
 * (no trailer) are read as plain JSON.
 */
import path from 'node:path';
import { crc32c } from '../kafka/protocol/crc32c.js';
import type { FileSystem } from '../platform/file-system.js';
import { nodeFileSystem } from '../platform/file-system.js';

const TRAILER = /\ncrc32c=([0-9a-f]{8})\n?$/;
const READ_ATTEMPTS = 4;

/** `value` as JSON followed by the checksum of that text. */
export function encodeCheckedJson(value: unknown): string {
  const text = JSON.stringify(value);
  return `${text}\ncrc32c=${crc32c(Buffer.from(text, 'utf8')).toString(16).padStart(8, '0')}\n`;
}

/** The parsed value, or why `raw` is not a good record. */
export function decodeCheckedJson(raw: Buffer): { readonly value: unknown } | { readonly error: string } {
  const all = raw.toString('utf8');
  const m = TRAILER.exec(all);
  const text = m === null ? all : all.slice(0, m.index);
  if (m !== null && crc32c(Buffer.from(text, 'utf8')) !== Number.parseInt(m[1] as string, 16)) return { error: 'fails its checksum' };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: `is not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

/**
 * Reads a checked record: null when the file does not exist; throws when no read of it passes
 * (its message names the file and what was wrong).
 */
export async function readCheckedJson(file: string, fs: FileSystem = nodeFileSystem): Promise<unknown> {
  let why = '';
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    let raw: Buffer;
    try {
      raw = await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const r = decodeCheckedJson(raw);
    if ('value' in r) return r.value;
    why = r.error;
  }
  throw new Error(`${file} ${why} on ${READ_ATTEMPTS} reads`);
}

/** `readCheckedJson` of `name` in `dir`, with a damaged file taken as missing (for records that only save work). */
export async function readCheckedJsonOrNull(dir: string, name: string, fs: FileSystem = nodeFileSystem): Promise<unknown> {
  try {
    return await readCheckedJson(path.join(dir, name), fs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) throw err;
    return null;
  }
}
