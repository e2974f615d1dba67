import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachLine } from "../../src/cli/file-lines.js";

/** What the CLI read before: node:readline over a UTF-8 stream. */
async function readlineLines(path: string): Promise<string[]> {
  const out: string[] = [];
  const lines = createInterface({
    input: createReadStream(path, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) out.push(line);
  return out;
}

async function linesOf(path: string): Promise<string[]> {
  const out: string[] = [];
  await forEachLine(path, (line) => out.push(line));
  return out;
}

describe("forEachLine", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "file-lines-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const MIB = 1 << 20;
  const cases: Record<string, Buffer> = {
    "LF, CRLF, lone CR, empty lines, no final break": Buffer.from(
      "a\nb\r\nc\rd\n\n\r\n\r\re\r\r\nf",
    ),
    "a final line break, then nothing": Buffer.from('{"x":1}\n{"y":2}\n'),
    "only line breaks": Buffer.from("\n\r\n\r"),
    "a final lone CR": Buffer.from("a\nb\r"),
    "empty file": Buffer.alloc(0),
    "non-ASCII text and U+FFFD": Buffer.from("ü\u00ff\n\ufffd中\r\n𝄞x\n"),
    // Invalid UTF-8 right before a line break and at the end (decoded to U+FFFD).
    "invalid UTF-8 next to line breaks": Buffer.from([
      0x61, 0xe2, 0x82, 0x0a, 0xff, 0x0d, 0x0a, 0xc3, 0x0d, 0x62, 0xf0, 0x9f,
    ]),
    // Lines across the 1 MiB chunks: a long line, a CRLF and a multi-byte character at a boundary.
    "lines across read chunks": Buffer.concat([
      Buffer.from("x".repeat(MIB - 1)),
      Buffer.from("\r\n"),
      Buffer.from("y".repeat(MIB - 3)),
      Buffer.from("é€\n"),
      Buffer.from("z".repeat(3 * MIB)),
      Buffer.from("\nend"),
    ]),
  };

  for (const [name, bytes] of Object.entries(cases)) {
    it(`gives the lines readline gives: ${name}`, async () => {
      const path = join(dir, `${name.replace(/\W+/g, "-")}.txt`);
      await writeFile(path, bytes);
      const expected = await readlineLines(path);
      expect(await linesOf(path)).toEqual(expected);
    });
  }
});
