import { readFileSync } from 'node:fs';
import { loadPublicKey, TrustStore } from '@hotpatch/core';

/** Trusted publisher keys: PEM files (or PEM text). Without any, every publish is refused. */
export function loadTrust(keys: readonly string[]): TrustStore {
  const store = new TrustStore();
  for (const k of keys) {
    const pem = k.includes('-----BEGIN') ? k : readFileSync(k, 'utf8');
    for (const one of pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [])
      store.add(loadPublicKey(one, k.includes('-----BEGIN') ? 'key' : k));
  }
  return store;
}
