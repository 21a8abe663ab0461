/** A FileSystem over real files whose reads can return one chosen bit flipped (see the class). */
import { nodeFileSystem, type FileSystem, type OpenFlags } from '../../src/platform/file-system.js';

/**
 * Real files, with one bit flipped in what reads of a chosen file position return (the medium
 * stays intact): the transient read fault the system simulator injects.
 */
export class FlippingFileSystem implements FileSystem {
  flipped = 0;
  private readonly paths = new Map<number, string>();
  private target: { suffix: string; position: number; mask: number; times: number } | null = null;

  /** The next read of a file named `...suffix` that covers byte `position` returns it XOR `mask`. */
  flipOnce(suffix: string, position: number, mask: number): void {
    this.target = { suffix, position, mask, times: 1 };
  }

  /** Every such read does, until `stop()`: a medium that is really corrupt there. */
  flipAlways(suffix: string, position: number, mask: number): void {
    this.target = { suffix, position, mask, times: Infinity };
  }

  stop(): void {
    this.target = null;
  }

  openSync(file: string, flags: OpenFlags): number {
    const fd = nodeFileSystem.openSync(file, flags);
    this.paths.set(fd, file);
    return fd;
  }

  async open(file: string, flags: OpenFlags): Promise<number> {
    const fd = await nodeFileSystem.open(file, flags);
    this.paths.set(fd, file);
    return fd;
  }

  closeSync(fd: number): void {
    this.paths.delete(fd);
    nodeFileSystem.closeSync(fd);
  }

  close(fd: number): Promise<void> {
    this.paths.delete(fd);
    return nodeFileSystem.close(fd);
  }

  async read(fd: number, target: Buffer, offset: number, length: number, position: number): Promise<number> {
    const n = await nodeFileSystem.read(fd, target, offset, length, position);
    const t = this.target;
    if (t !== null && (this.paths.get(fd) ?? '').endsWith(t.suffix) && t.position >= position && t.position < position + n) {
      target[offset + t.position - position] = (target[offset + t.position - position] as number) ^ t.mask;
      this.flipped++;
      if (--t.times <= 0) this.target = null;
    }
    return n;
  }

  sizeSync = (fd: number): number => nodeFileSystem.sizeSync(fd);
  writev = (fd: number, buffers: readonly Buffer[], position: number): Promise<number> => nodeFileSystem.writev(fd, buffers, position);
  fsync = (fd: number): Promise<void> => nodeFileSystem.fsync(fd);
  ftruncate = (fd: number, length: number): Promise<void> => nodeFileSystem.ftruncate(fd, length);
  ftruncateSync = (fd: number, length: number): void => nodeFileSystem.ftruncateSync(fd, length);
  existsSync = (file: string): boolean => nodeFileSystem.existsSync(file);
  modifiedMsSync = (file: string): number => nodeFileSystem.modifiedMsSync(file);
  unlinkSync = (file: string): void => nodeFileSystem.unlinkSync(file);
  unlink = (file: string): Promise<void> => nodeFileSystem.unlink(file);
  removeSync = (target: string): void => nodeFileSystem.removeSync(target);
  remove = (target: string, recursive: boolean): Promise<void> => nodeFileSystem.remove(target, recursive);
  rename = (from: string, to: string): Promise<void> => nodeFileSystem.rename(from, to);
  async readFile(file: string): Promise<Buffer> {
    const data = await nodeFileSystem.readFile(file);
    const t = this.target;
    if (t !== null && file.endsWith(t.suffix) && t.position < data.length) {
      data[t.position] = (data[t.position] as number) ^ t.mask;
      this.flipped++;
      if (--t.times <= 0) this.target = null;
    }
    return data;
  }

  readdir = (dir: string): Promise<string[]> => nodeFileSystem.readdir(dir);
  mkdirs = (dir: string): Promise<string | undefined> => nodeFileSystem.mkdirs(dir);
  fsyncDir = (dir: string): Promise<void> => nodeFileSystem.fsyncDir(dir);
  bootId = (): string | null => nodeFileSystem.bootId();
}
