import { type BundlePayload, HotpatchError } from '@hotpatch/core';
import { CONVENTION_VERSION } from '@hotpatch/instrument';

/**
 * Refuses a bundle this runtime cannot run: built with another function key scheme or calling
 * convention. Checked on apply and on every path that re-applies a stored patch (start-up, the
 * ES module hooks), so that a stored bundle is held to the same rule as a new one.
 */
export function assertRunnable(p: BundlePayload, keyScheme: number): void {
  if (p.keyScheme !== keyScheme) {
    throw new HotpatchError(
      'E_ENGINE',
      `bundle uses function key scheme ${p.keyScheme}; this runtime knows ${keyScheme}`,
    );
  }
  if (p.convention !== CONVENTION_VERSION) {
    throw new HotpatchError(
      'E_ENGINE',
      `bundle was built for calling convention ${p.convention}; this runtime instruments with ${CONVENTION_VERSION}`,
    );
  }
}
