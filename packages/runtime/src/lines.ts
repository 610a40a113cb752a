/**
 * Splits a byte stream into lines without copying what it already holds: chunks are kept as they
 * come and joined once per line, so a long line costs linear time, not quadratic. A line longer
 * than `max` bytes is refused (tooLarge) and everything after it is dropped.
 */
export class LineReader {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #closed = false;

  constructor(max: number) {
    this.#max = max;
  }

  push(chunk: Buffer): { lines: string[]; tooLarge: boolean } {
    const lines: string[] = [];
    if (this.#closed) return { lines, tooLarge: false };
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (this.#size + nl - start > this.#max) return this.#close(lines);
      this.#chunks.push(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.#chunks).toString('utf8'));
      this.#chunks = [];
      this.#size = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.#chunks.push(chunk.subarray(start));
      this.#size += chunk.length - start;
      if (this.#size > this.#max) return this.#close(lines);
    }
    return { lines, tooLarge: false };
  }

  #close(lines: string[]): { lines: string[]; tooLarge: boolean } {
    this.#closed = true;
    this.#chunks = [];
    this.#size = 0;
    return { lines, tooLarge: true };
  }
}
