import { describe, expect, it } from "vitest";
import { agentWatermark, globalWatermark } from "../src/watermark.js";

const settings = { allowedLatenessNs: 100n, refreshMarginNs: 10n };

describe("agentWatermark", () => {
  it("is undefined before the agent was read", () => {
    expect(agentWatermark({ maxSeenNs: undefined, caughtUpAtNs: undefined }, settings)).toBe(
      undefined,
    );
  });

  it("is the max event time seen minus the allowed lateness while the agent has a backlog", () => {
    expect(agentWatermark({ maxSeenNs: 1_000n, caughtUpAtNs: undefined }, settings)).toBe(900n);
  });

  it("follows the wall clock of the read when the agent is idle and caught up", () => {
    expect(agentWatermark({ maxSeenNs: undefined, caughtUpAtNs: 5_000n }, settings)).toBe(4_890n);
    expect(agentWatermark({ maxSeenNs: 1_000n, caughtUpAtNs: 5_000n }, settings)).toBe(4_890n);
  });

  it("takes the newer of seen time and read time when spans are ahead of the read", () => {
    expect(agentWatermark({ maxSeenNs: 9_000n, caughtUpAtNs: 5_000n }, settings)).toBe(8_900n);
  });
});

describe("globalWatermark", () => {
  it("is the slowest agent's watermark", () => {
    expect(globalWatermark([300n, 100n, 200n])).toBe(100n);
  });

  it("is undefined with no agents or while any agent is unknown", () => {
    expect(globalWatermark([])).toBe(undefined);
    expect(globalWatermark([300n, undefined])).toBe(undefined);
  });
});
