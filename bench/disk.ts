/** The reference every broker figure is compared with: this disk's sequential write+fsync bandwidth. */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** MB/s writing `totalBytes` sequentially in `chunk`-sized writes, fsyncing after each. */
export function diskWriteFsyncMBps(dir: string = tmpdir(), totalBytes = 256 * 1024 * 1024, chunk = 1024 * 1024): number {
  const d = mkdtempSync(join(dir, 'chronik-disk-'));
  const path = join(d, 'probe');
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(chunk, 0x5a);
  const start = process.hrtime.bigint();
  for (let written = 0; written < totalBytes; written += chunk) {
    writeSync(fd, buf);
    fdatasyncSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  closeSync(fd);
  rmSync(d, { recursive: true, force: true });
  return totalBytes / 1e6 / seconds;
}
