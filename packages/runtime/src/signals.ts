const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Runs `cleanup` when the process exits, and when it is killed by SIGTERM, SIGINT or SIGHUP
 * without changing what the signal does to the app: when the app has its own handler, the app
 * decides (and 'exit' cleans up if it exits); when it has none, our handler removes itself and
 * raises the signal again, so the process still dies of it (same exit status, same wait status).
 */
export function cleanUpOnSignals(cleanup: () => void): void {
  process.once('exit', cleanup);
  for (const sig of SIGNALS) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return; // the app handles it
      process.off(sig, onSignal);
      cleanup();
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
