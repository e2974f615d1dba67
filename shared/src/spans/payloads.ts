/**
 * The request and response payloads of a SpanTable's rows.
 *
 * On the batch path they go into PayloadArena: Latin-1 bytes in 16 MiB chunks outside the
 * JavaScript heap, so a million spans do not keep two million payload strings for every
 * garbage collection to copy (when they survive their first scavenges) and mark (on every
 * full collection). A payload with a character beyond U+00FF (a binary capture decoded
 * with U+FFFD) is kept as the string it is. The engine asks for a payload as text when it
 * reads one, and lets it go.
 */

/** Which payload of a row. */
export const REQUEST = 0;
export const RESPONSE = 1;
export type PayloadSide = typeof REQUEST | typeof RESPONSE;

export interface Payloads {
  /** The payload of `row`, as captured. */
  text(row: number, side: PayloadSide): string;
}

/** Payloads as strings held by the caller (protobuf Spans). */
export class StringPayloads implements Payloads {
  constructor(
    private readonly request: readonly string[],
    private readonly response: readonly string[],
  ) {}

  text(row: number, side: PayloadSide): string {
    return (side === REQUEST ? this.request[row] : this.response[row]) as string;
  }
}

const CHUNK_BYTES = 1 << 24;
// biome-ignore lint/suspicious/noControlCharactersInRegex: any character beyond Latin-1
const BEYOND_LATIN1 = /[^\x00-\xff]/;
/** Length of a payload kept as a string. */
const WIDE = -1;

/** Payloads appended row by row into chunked Latin-1 byte arenas. */
export class PayloadArena implements Payloads {
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(0);
  private used = 0;
  /** Per payload (2 x row + side): chunk x CHUNK_BYTES + offset, and length (WIDE: a string). */
  private position: Float64Array;
  private length: Int32Array;
  private readonly wide = new Map<number, string>();

  constructor(rows: number) {
    this.position = new Float64Array(Math.max(32, rows * 2));
    this.length = new Int32Array(Math.max(32, rows * 2));
  }

  append(row: number, side: PayloadSide, text: string): void {
    const slot = 2 * row + side;
    if (slot >= this.length.length) this.grow(slot);
    if (BEYOND_LATIN1.test(text)) {
      this.wide.set(slot, text);
      this.length[slot] = WIDE;
      return;
    }
    if (this.used + text.length > this.chunk.length) {
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, text.length));
      this.chunks.push(this.chunk);
      this.used = 0;
    }
    this.chunk.write(text, this.used, "latin1");
    this.position[slot] = (this.chunks.length - 1) * CHUNK_BYTES + this.used;
    this.length[slot] = text.length;
    this.used += text.length;
  }

  text(row: number, side: PayloadSide): string {
    const slot = 2 * row + side;
    const length = this.length[slot] as number;
    if (length === WIDE) return this.wide.get(slot) as string;
    if (length === 0) return "";
    const position = this.position[slot] as number;
    const chunk = this.chunks[Math.floor(position / CHUNK_BYTES)] as Buffer;
    const offset = position % CHUNK_BYTES;
    return chunk.toString("latin1", offset, offset + length);
  }

  private grow(slot: number): void {
    let size = this.length.length;
    while (size <= slot) size *= 2;
    const position = new Float64Array(size);
    position.set(this.position);
    this.position = position;
    const length = new Int32Array(size);
    length.set(this.length);
    this.length = length;
  }
}
