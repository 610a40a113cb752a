import { createHash } from 'node:crypto';

/** sha256 of text (UTF-8) or bytes, as lowercase hex. The bundle names baselines by this. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
