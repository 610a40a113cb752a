import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes `data` to `file` through a temporary file renamed over it: a reader sees the old file or
 * the new one, never a part. Not synced to disk: for caches, which a crash may lose (state that
 * must survive one goes through store.ts's writeDurable). Throws if it cannot, leaving no
 * temporary file behind.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the directory itself is unusable: nothing was written
    }
    throw e;
  }
}
