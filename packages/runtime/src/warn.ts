/** Warnings the runtime writes itself go to stderr as one line each, once. */
const warned = new Set<string>();
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  try {
    process.stderr.write(`hotpatch: warning: ${message}\n`);
  } catch {
    // stderr closed: nothing else to do
  }
}
