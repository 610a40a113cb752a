import { readFileSync } from 'node:fs';
import { loadPublicKey, TrustStore } from '@hotpatch/core';

/**
 * Trusted keys come from HOTPATCH_TRUSTED_KEYS: a list of public key files separated by the
 * path delimiter (':'), or PEM text. With no trusted key, every bundle is refused: signature
 * enforcement cannot be switched off. A key that cannot be read or parsed is left out and named
 * in `problems` (the runtime must not take the app down over it); bundles it would have verified
 * are refused.
 */
export function trustFromEnv(env: NodeJS.ProcessEnv = process.env): {
  trust: TrustStore;
  problems: string[];
} {
  const trust = new TrustStore();
  const problems: string[] = [];
  const spec = env.HOTPATCH_TRUSTED_KEYS ?? '';
  const add = (pem: string, source: string) => {
    try {
      trust.add(loadPublicKey(pem, source));
    } catch (e) {
      problems.push((e as Error).message);
    }
  };
  if (spec.includes('-----BEGIN')) {
    const pems = spec.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
    if (pems.length === 0) problems.push('HOTPATCH_TRUSTED_KEYS holds no complete PEM public key');
    for (const pem of pems) add(pem, 'HOTPATCH_TRUSTED_KEYS');
    return { trust, problems };
  }
  for (const file of spec.split(':').filter(Boolean)) {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (e) {
      problems.push(
        `trusted key ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
      continue;
    }
    add(pem, `trusted key ${file}`);
  }
  return { trust, problems };
}
