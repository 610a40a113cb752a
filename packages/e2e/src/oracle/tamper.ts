/**
 * A deliberately broken hotpatch, for the test that proves the oracle can fail: the first
 * replacement function of the bundle gets `return <value>;` as its first statement, and the
 * bundle is signed again with the test key, so the runtime accepts and applies it like any other.
 */
import { type BundlePayload, loadPrivateKey, parseBundle, serializeBundle, signBundle } from '@hotpatch/core';

/** Puts `return VALUE;` first in the body of a function expression's source (the first `) {` or `) => {`). */
export function injectReturn(source: string, value: string): string {
  const m = /\)\s*(=>\s*)?\{/.exec(source);
  if (!m) throw new Error('no function body to tamper with');
  const at = m.index + m[0].length;
  return `${source.slice(0, at)} return ${value};${source.slice(at)}`;
}

/** The bundle with its first replacement returning `value`, re-signed with `privateKeyPem`. */
export function tamperBundle(bytes: Buffer, privateKeyPem: string, value = '"oracle-tampered"'): Buffer {
  const payload = structuredClone(parseBundle(bytes).payload) as BundlePayload;
  const fn = payload.files.flatMap((f) => f.functions ?? [])[0];
  if (!fn) throw new Error('the bundle has no replacement function');
  fn.source = injectReturn(fn.source, value);
  return Buffer.from(serializeBundle(signBundle(payload, loadPrivateKey(privateKeyPem))));
}
