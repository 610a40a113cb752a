import canonicalizeImpl from 'canonicalize';

/**
 * Canonical JSON bytes (RFC 8785, JCS) of a value: what signatures are computed over,
 * so that key order and whitespace in a bundle file never change what was signed.
 */
export function canonicalBytes(value: unknown): Buffer {
  const text = (canonicalizeImpl as unknown as (v: unknown) => string | undefined)(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalized');
  return Buffer.from(text, 'utf8');
}
