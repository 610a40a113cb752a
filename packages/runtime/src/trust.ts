import { readFileSync } from 'node:fs';
import { HotpatchError, loadPublicKey, TrustStore } from '@hotpatch/core';

/**
 * Trusted keys come from HOTPATCH_TRUSTED_KEYS: a list of public key files separated by the
 * path delimiter (':'), or PEM text. With no trusted key, every bundle is refused: signature
 * enforcement cannot be switched off.
 */
export function trustFromEnv(env: NodeJS.ProcessEnv = process.env): TrustStore {
  const store = new TrustStore();
  const spec = env.HOTPATCH_TRUSTED_KEYS ?? '';
  if (spec.includes('-----BEGIN')) {
    for (const pem of spec.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []) {
      store.add(loadPublicKey(pem, 'HOTPATCH_TRUSTED_KEYS'));
    }
    return store;
  }
  for (const file of spec.split(':').filter(Boolean)) {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch {
      throw new HotpatchError('E_KEY', `trusted key ${file} cannot be read`);
    }
    store.add(loadPublicKey(pem, file));
  }
  return store;
}
