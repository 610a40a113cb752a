import type * as acorn from 'acorn';
import type { ModuleAnalysis } from './analyze.js';

/** A module's tokens: ranges compared as text (the builder's diff), found by position. */

/** Tokens inside [start, end), skipping the given nested ranges, as comparable text. */
export function tokenTexts(
  analysis: Pick<ModuleAnalysis, 'tokens' | 'source'>,
  start: number,
  end: number,
  skip: Array<{ start: number; end: number; label: string }> = [],
  rename?: (name: string) => string,
): string[] {
  const out: string[] = [];
  let s = 0;
  const sorted = [...skip].sort((a, b) => a.start - b.start);
  for (const tok of analysis.tokens) {
    if (tok.start < start) continue;
    if (tok.end > end) break;
    if (tok.type.label === 'eof') break; // not text: a file that ends without a newline has it at its last statement's end
    while (s < sorted.length && sorted[s]!.end <= tok.start) s++;
    const hole = sorted[s];
    if (hole && tok.start >= hole.start && tok.end <= hole.end) {
      if (tok.start === hole.start) out.push(hole.label);
      continue;
    }
    const text = analysis.source.slice(tok.start, tok.end);
    out.push(rename && tok.type.label === 'name' ? rename(text) : text);
  }
  return out;
}

/** First token index at or after `pos` (binary search). */
export function tokenAt(tokens: acorn.Token[], pos: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.start < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
