import { createHash, hash } from 'node:crypto';

/**
 * sha256 of a module's text, hex (the same value as core's sha256): every module is hashed as it
 * loads (the instrumentation cache's key, the baseline a patch names), so the one-shot
 * crypto.hash (Node 20.12+, 21.7+) is used where there is one: it costs half of a Hash object.
 */
export function sha256(data: string): string {
  return typeof hash === 'function'
    ? (hash('sha256', data, 'hex') as string)
    : createHash('sha256').update(data).digest('hex');
}
