/**
 * Many short strings kept outside the JavaScript heap: Latin-1 bytes in 16 MiB chunks,
 * decoded when read. A batch of a million spans holds two million payloads and a million
 * span ids; as strings they are objects every garbage collection has to copy (while they
 * are young) and mark (on every full collection). A string with a character beyond U+00FF
 * (a binary capture decoded with U+FFFD) is kept as it is.
 */

/** Where a text's Latin-1 bytes are: `bytes[offset .. offset + length)`, one per character. */
export interface TextBytes {
  bytes: Uint8Array;
  offset: number;
  length: number;
}

/** An empty TextBytes, to be filled by `Texts.locate`. */
export function textBytes(): TextBytes {
  return { bytes: Buffer.alloc(0), offset: 0, length: 0 };
}

/** Strings by slot. */
export interface Texts {
  text(slot: number): string;
  /**
   * Points `into` at the text's bytes when it is held as Latin-1 bytes, so that a reader of
   * character codes needs no string; false when it is not (read `text`).
   */
  locate(slot: number, into: TextBytes): boolean;
}

/** Strings held by the caller (protobuf Spans), by slot. */
export class StringTexts implements Texts {
  constructor(private readonly values: readonly string[]) {}

  text(slot: number): string {
    return this.values[slot] as string;
  }

  locate(): boolean {
    return false;
  }
}

const CHUNK_BYTES = 1 << 24;
// biome-ignore lint/suspicious/noControlCharactersInRegex: any character beyond Latin-1
const BEYOND_LATIN1 = /[^\x00-\xff]/;
/** Texts up to this length are copied character by character. */
const SHORT = 96;
const EMPTY = Buffer.alloc(0);
/** Length of a text kept as a string. */
const WIDE = -1;

/** Strings appended by slot into chunked Latin-1 byte arenas. */
export class TextArena implements Texts {
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(0);
  private used = 0;
  /** Per slot: chunk x CHUNK_BYTES + offset, and length (WIDE: kept as a string). */
  private position: Float64Array;
  private length: Int32Array;
  private readonly wide = new Map<number, string>();

  /** `slots`: expected slots (the index grows past it). */
  constructor(slots: number) {
    this.position = new Float64Array(Math.max(32, slots));
    this.length = new Int32Array(Math.max(32, slots));
  }

  append(slot: number, text: string): void {
    if (slot >= this.length.length) this.grow(slot);
    const n = text.length;
    if (n > SHORT && BEYOND_LATIN1.test(text)) {
      this.keepWide(slot, text);
      return;
    }
    if (this.used + n > this.chunk.length) {
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n));
      this.chunks.push(this.chunk);
      this.used = 0;
    }
    if (n > SHORT) {
      this.chunk.write(text, this.used, "latin1");
    } else {
      // Cheaper than a call into the runtime for a span id or a short payload.
      const chunk = this.chunk;
      const at = this.used;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c > 0xff) {
          this.keepWide(slot, text);
          return;
        }
        chunk[at + i] = c;
      }
    }
    this.position[slot] = (this.chunks.length - 1) * CHUNK_BYTES + this.used;
    this.length[slot] = n;
    this.used += n;
  }

  private keepWide(slot: number, text: string): void {
    this.wide.set(slot, text);
    this.length[slot] = WIDE;
  }

  text(slot: number): string {
    const length = this.length[slot] as number;
    if (length === WIDE) return this.wide.get(slot) as string;
    if (length === 0) return "";
    const position = this.position[slot] as number;
    const chunk = this.chunks[Math.floor(position / CHUNK_BYTES)] as Buffer;
    const offset = position % CHUNK_BYTES;
    return chunk.toString("latin1", offset, offset + length);
  }

  locate(slot: number, into: TextBytes): boolean {
    const length = this.length[slot] as number;
    if (length === WIDE) return false;
    const position = this.position[slot] as number;
    const chunk = Math.floor(position / CHUNK_BYTES);
    // An empty text may sit at the end of a chunk not yet created.
    into.bytes = length === 0 ? EMPTY : (this.chunks[chunk] as Buffer);
    into.offset = length === 0 ? 0 : position - chunk * CHUNK_BYTES;
    into.length = length;
    return true;
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
