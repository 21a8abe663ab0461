/**
 * The clean-shutdown marker: written last by a clean close, removed first on open. Its presence
 * (with the active segment's size matching) lets open trust the persisted indexes instead of
 * rescanning segments; any crash leaves no marker, so the next open recovers.
 */
import path from 'node:path';
import type { FileSystem } from '../platform/file-system.js';
import { encodeCheckedJson, readCheckedJson } from './checked-json.js';
import { CLEAN_SHUTDOWN_FILE, fsyncDir, writeFileAtomic } from './files.js';
import type { Segment } from './segment.js';

export interface CleanMarker {
  readonly activeBaseOffset: number;
  readonly activeSize: number;
  readonly nextOffset: number;
}

export async function writeCleanMarker(dir: string, active: Segment): Promise<void> {
  const marker: CleanMarker = { activeBaseOffset: active.baseOffset, activeSize: active.size, nextOffset: active.nextOffset };
  await writeFileAtomic(path.join(dir, CLEAN_SHUTDOWN_FILE), encodeCheckedJson(marker), active.fs);
}

/** Reads and removes the marker (durably, so a crash after this open is never taken as clean). */
export async function takeCleanMarker(fs: FileSystem, dir: string): Promise<CleanMarker | null> {
  const file = path.join(dir, CLEAN_SHUTDOWN_FILE);
  let v: Partial<CleanMarker> | null;
  try {
    v = (await readCheckedJson(file, fs)) as Partial<CleanMarker> | null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) throw err;
    v = {}; // a damaged marker counts as no marker
  }
  if (v === null) return null;
  await fs.unlink(file);
  await fsyncDir(dir, fs);
  if (typeof v === 'object' && typeof v.activeBaseOffset === 'number' && typeof v.activeSize === 'number' && typeof v.nextOffset === 'number') {
    return { activeBaseOffset: v.activeBaseOffset, activeSize: v.activeSize, nextOffset: v.nextOffset };
  }
  return null;
}
