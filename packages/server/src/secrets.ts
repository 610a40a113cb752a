import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Tokens are `<prefix>_<id>_<secret>`; only sha256(secret) is stored. */
export type TokenKind = 'hpt' | 'hpe' | 'hpd';

export function newId(prefix: string, bytes = 6): string {
  return `${prefix}${randomBytes(bytes).toString('hex')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newToken(kind: TokenKind): { id: string; token: string; hash: string } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(24).toString('base64url');
  return { id, token: `${kind}_${id}_${secret}`, hash: hashSecret(secret) };
}

export function parseToken(token: string, kind: TokenKind): { id: string; secret: string } | null {
  const m = /^([a-z]+)_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$/.exec(token);
  if (!m || m[1] !== kind) return null;
  return { id: m[2] as string, secret: m[3] as string };
}

export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? (m[1] as string) : null;
}
