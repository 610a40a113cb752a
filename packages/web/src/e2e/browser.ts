/** The dashboard tests' browser: Debian's Chromium through playwright-core, headless; screenshots' folder. */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.HOTPATCH_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = fileURLToPath(new URL('../../../../docs/screenshots/', import.meta.url));

/** Fails at once, saying how to get Chromium, when it is not installed. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the dashboard's end-to-end tests need Debian's Chromium ` +
        '(apt-get update && apt-get install -y chromium; .ci/run installs it) or HOTPATCH_CHROMIUM=/path/to/chromium',
    );
}

export function launchChromium(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
