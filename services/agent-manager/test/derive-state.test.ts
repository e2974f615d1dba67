import { describe, expect, it } from "vitest";
import { deriveState, type ProbeObservation } from "../src/health/derive-state.js";
import { parseHostFacts } from "../src/health/host-probe.js";

const healthy: ProbeObservation = {
  ssh: { ok: true, facts: { installed: true, processAlive: true } },
  api: { ok: true, configHash: "abc" },
  spanIndex: "spans_a1",
  lastSpanAgeMs: 1_000,
  stalenessMs: 60_000,
  runningForMs: 120_000,
  expectRunning: true,
  desiredHash: "abc",
  appliedHash: "abc",
};

const facts = (installed: boolean, processAlive: boolean) => ({
  ok: true as const,
  facts: { installed, processAlive },
});

describe("deriveState", () => {
  it("is running when the process lives, the API answers, spans are fresh and config matches", () => {
    expect(deriveState(healthy)).toEqual({
      state: "running",
      reason: "process alive, REST API answering, config abc",
    });
  });

  it("is unreachable when SSH cannot connect, failed when the host key or login is refused", () => {
    expect(
      deriveState({ ...healthy, ssh: { ok: false, kind: "unreachable", message: "EHOSTUNREACH" } })
        .state,
    ).toBe("unreachable");
    expect(
      deriveState({ ...healthy, ssh: { ok: false, kind: "timeout", message: "t" } }).state,
    ).toBe("unreachable");
    expect(
      deriveState({
        ...healthy,
        ssh: { ok: false, kind: "host_key", message: "host key mismatch" },
      }),
    ).toEqual({
      state: "failed",
      reason: "host key mismatch",
    });
    expect(
      deriveState({ ...healthy, ssh: { ok: false, kind: "auth", message: "denied" } }).state,
    ).toBe("failed");
  });

  it("is stopped when not deployed or not running, failed when it should run", () => {
    expect(deriveState({ ...healthy, ssh: facts(false, false), expectRunning: false })).toEqual({
      state: "stopped",
      reason: "not deployed on the host",
    });
    expect(deriveState({ ...healthy, ssh: facts(true, false), expectRunning: false }).state).toBe(
      "stopped",
    );
    expect(deriveState({ ...healthy, ssh: facts(true, false), expectRunning: true }).state).toBe(
      "failed",
    );
  });

  it("keeps the failed step as the reason until an operation succeeds", () => {
    const failed = deriveState({
      ...healthy,
      ssh: facts(true, false),
      lastFailure: "agent a1: install failed: exit status 3",
    });
    expect(failed).toEqual({ state: "failed", reason: "agent a1: install failed: exit status 3" });
  });

  it("is degraded when the API does not answer, spans are stale or config drifted", () => {
    expect(deriveState({ ...healthy, api: { ok: false, message: "ECONNREFUSED" } })).toEqual({
      state: "degraded",
      reason: "process alive but the REST API does not answer: ECONNREFUSED",
    });
    expect(deriveState({ ...healthy, lastSpanAgeMs: 90_000 }).reason).toBe(
      "freshest span in spans_a1 is 90 s old",
    );
    expect(deriveState({ ...healthy, lastSpanAgeMs: undefined }).reason).toBe(
      "no span in spans_a1 yet",
    );
    expect(deriveState({ ...healthy, appliedHash: "old" })).toEqual({
      state: "degraded",
      reason: "config drift: desired abc, applied old",
    });
  });

  it("gives a freshly started agent its grace period and ignores staleness when the check is off", () => {
    expect(deriveState({ ...healthy, lastSpanAgeMs: undefined, runningForMs: 5_000 }).state).toBe(
      "running",
    );
    expect(deriveState({ ...healthy, lastSpanAgeMs: 10_000_000, stalenessMs: 0 }).state).toBe(
      "running",
    );
  });
});

describe("parseHostFacts", () => {
  it("reads install state, liveness and the clock offset from the probe output", () => {
    const out =
      "installed yes\nalive yes\nclock 1700000000123456789 2173252969303\nclock-source python3\n";
    expect(parseHostFacts(out)).toEqual({
      installed: true,
      processAlive: true,
      clockOffsetNs: 1700000000123456789n - 2173252969303n,
      clockSource: "python3",
    });
    expect(parseHostFacts("installed no\nalive no\n")).toEqual({
      installed: false,
      processAlive: false,
    });
  });
});
