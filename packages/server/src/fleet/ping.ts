/**
 * When a channel that answers no ping is dropped. A half-open connection (the peer vanished
 * without a FIN) must go, but a live one must not be dropped because this process was busy: a
 * pong waits unread while the event loop is blocked, and the next round's timer runs before the
 * loop reads it. So a channel is dropped only after missing several rounds, and a round that
 * fired late (the loop was blocked) judges nobody.
 */

/** Consecutive unanswered rounds after which a channel is dropped. */
export const MISSED_ROUNDS_TO_DROP = 2;

/** A round this much later than its period means the loop was blocked: answers may be unread. */
export const STALL_FACTOR = 1.5;

export function stalledRound(previousAt: number | null, now: number, periodMs: number): boolean {
  return previousAt !== null && now - previousAt > periodMs * STALL_FACTOR;
}

/** What to do with a channel that has `missed` unanswered rounds so far (reset by any pong or message). */
export function pingDecision(missed: number, stalled: boolean): 'drop' | 'ping' {
  return !stalled && missed >= MISSED_ROUNDS_TO_DROP ? 'drop' : 'ping';
}
