import { describe, expect, it } from "vitest";
// @ts-expect-error no type declarations for the emulator's .mjs modules
import { settingsFrom } from "../../../tools/agent-emulator/lib/config.mjs";

const config = (emulator: Record<string, unknown>) => ({
  agent: { name: "a1" },
  elastic: { url: "http://es:9200/" },
  sender: { index_name: "spans_a1" },
  api: { port: 7899 },
  emulator: { dataset: "/data/spans.ndjson", ...emulator },
});

describe("the emulator's settings", () => {
  it("default to a relative, looping replay retried for five minutes", () => {
    expect(settingsFrom(config({}))).toMatchObject({
      elasticUrl: "http://es:9200",
      loop: true,
      speed: 1,
      sourceClockOffsetNs: null,
      wallShiftNs: null,
      retryForMs: 300_000,
    });
  });

  it("read wall-clock replay offsets beyond 2^53 exactly from decimal strings", () => {
    const settings = settingsFrom(
      config({
        loop: false,
        source_clock_offset_ns: "1747286016000000001",
        wall_shift_ns: "-123",
      }),
    );
    expect(settings.sourceClockOffsetNs).toBe(1_747_286_016_000_000_001n);
    expect(settings.wallShiftNs).toBe(-123n);
  });

  it.each([
    [{ loop: false, wall_shift_ns: "5" }, "go together"],
    [{ loop: false, source_clock_offset_ns: "5" }, "go together"],
    [{ source_clock_offset_ns: "1", wall_shift_ns: "5" }, "needs loop = false and speed = 1"],
    [
      { loop: false, speed: 2, source_clock_offset_ns: "1", wall_shift_ns: "5" },
      "needs loop = false and speed = 1",
    ],
    [{ loop: false, source_clock_offset_ns: 1.5, wall_shift_ns: "5" }, "source_clock_offset_ns"],
    [{ loop: false, source_clock_offset_ns: "1", wall_shift_ns: "5s" }, "wall_shift_ns"],
    [{ retry_for_ms: -1 }, "retry_for_ms"],
  ])("refuse %j naming the problem", (emulator, message) => {
    expect(() => settingsFrom(config(emulator))).toThrow(message);
  });
});
