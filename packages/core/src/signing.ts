import {
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  verify as edVerify,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { canonicalBytes } from './canonical.js';
import { SignatureError } from './errors.js';
import { sha256 } from './hash.js';

/** A detached Ed25519 signature over the canonical bytes of a payload. */
export interface Signature {
  alg: 'Ed25519';
  /** First 16 hex digits of sha256(raw public key): names the key without shipping it. */
  keyId: string;
  /** base64 of the 64-byte signature. */
  value: string;
}

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}

export function generateSigningKey(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  // The last 32 bytes of an Ed25519 SPKI are the raw key.
  return sha256(der.subarray(der.length - 32)).slice(0, 16);
}

export function loadPrivateKey(pem: string, source = 'key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new SignatureError('E_KEY', `${source} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SignatureError('E_KEY', `${source} is a ${key.asymmetricKeyType} key; Ed25519 is required`);
  }
  return key;
}

export function loadPublicKey(pem: string, source = 'public key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new SignatureError('E_KEY', `${source} is not a PEM public key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SignatureError('E_KEY', `${source} is a ${key.asymmetricKeyType} key; Ed25519 is required`);
  }
  return key;
}

export function signPayload(payload: unknown, privateKey: KeyObject): Signature {
  const publicKey = createPublicKey(privateKey);
  return {
    alg: 'Ed25519',
    keyId: keyIdOf(publicKey),
    value: edSign(null, canonicalBytes(payload), privateKey).toString('base64'),
  };
}

/** A set of trusted public keys, looked up by key id. */
export class TrustStore {
  readonly #keys = new Map<string, KeyObject>();
  constructor(publicKeys: Iterable<KeyObject> = []) {
    for (const key of publicKeys) this.add(key);
  }
  add(key: KeyObject): string {
    const id = keyIdOf(key);
    this.#keys.set(id, key);
    return id;
  }
  get size(): number {
    return this.#keys.size;
  }
  keyIds(): string[] {
    return [...this.#keys.keys()];
  }
  get(keyId: string): KeyObject | undefined {
    return this.#keys.get(keyId);
  }
}

/** Throws a SignatureError unless `signature` is a valid signature of `payload` by a trusted key. */
export function verifyPayload(payload: unknown, signature: Signature | undefined, trust: TrustStore): void {
  if (!signature || typeof signature.value !== 'string' || signature.value === '') {
    throw new SignatureError('E_SIGNATURE_MISSING', 'bundle is not signed');
  }
  if (signature.alg !== 'Ed25519') {
    throw new SignatureError(
      'E_SIGNATURE_INVALID',
      `unsupported signature algorithm ${String(signature.alg)}`,
    );
  }
  const key = trust.get(signature.keyId);
  if (!key) {
    throw new SignatureError(
      'E_UNTRUSTED_KEY',
      `bundle is signed by key ${signature.keyId}, which is not trusted`,
    );
  }
  const bytes = signatureBytes(signature.value);
  if (!bytes) {
    throw new SignatureError(
      'E_SIGNATURE_INVALID',
      `bad signature by key ${signature.keyId}: not the canonical base64 of a 64-byte Ed25519 signature`,
    );
  }
  const ok = edVerify(null, canonicalBytes(payload), key, bytes);
  if (!ok)
    throw new SignatureError(
      'E_SIGNATURE_INVALID',
      `bad signature by key ${signature.keyId}: bundle was altered`,
    );
}

/**
 * The 64 signature bytes, only from their one canonical base64 form. Node's base64 decoder skips
 * characters it does not know and ignores padding bits, so many strings decode to the same bytes:
 * accepting only the form we would write ourselves makes a signed bundle's bytes unique.
 */
export function signatureBytes(value: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(value)) return null;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 64 && bytes.toString('base64') === value ? bytes : null;
}
