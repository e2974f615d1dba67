import { describe, expect, it } from "vitest";
import { foreignAgent } from "../src/lifecycle/agent-api.js";

describe("foreignAgent", () => {
  it("names the agent that holds the port when it is not the expected one", () => {
    expect(foreignAgent({ agent: "other", config_hash: "x" }, "mine", 7899)).toBe(
      "port 7899 answers as agent other, not mine",
    );
  });

  it("accepts the expected agent, and agents that do not report a name (the real agent)", () => {
    expect(foreignAgent({ agent: "mine" }, "mine", 7899)).toBeUndefined();
    expect(foreignAgent({ config_hash: "x" }, "mine", 7899)).toBeUndefined();
  });
});
