import { Writable } from "node:stream";
import { loadConfig } from "@deeptrace/shared/config/load-config";
import { createLogger } from "@deeptrace/shared/logging/logger";
import { describe, expect, it } from "vitest";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe("createLogger", () => {
  it("never writes a configured secret, whether logged as config or as a plain field", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: "test", destination });
    const config = loadConfig({
      env: {
        DEEPTRACE__ELASTIC__PASSWORD: "env:PW",
        PW: "hunter2-super-secret",
        DEEPTRACE__AUTH__TOKENS: '[{ name = "a", role = "admin", token = "literal-token-xyz" }]',
      },
    });
    logger.info({ config }, "effective configuration");
    logger.info({ request: { headers: { authorization: "Bearer literal-token-xyz" } } }, "call");
    logger.info({ host_password: "hunter2-super-secret", agent: { password: "p@ss" } }, "agent");
    const text = lines.join("");
    expect(text).toContain("effective configuration");
    expect(text).not.toContain("hunter2-super-secret");
    expect(text).not.toContain("literal-token-xyz");
    expect(text).not.toContain("p@ss");
    expect(text).toContain("[redacted]");
  });
});
