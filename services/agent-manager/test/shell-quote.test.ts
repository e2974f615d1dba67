import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { commandLine } from "../src/ssh/remote-command.js";
import { shellQuote } from "../src/ssh/shell-quote.js";

const HOSTILE = [
  "",
  "plain",
  "two words",
  "it's",
  "'",
  "''",
  "'\\''",
  "$(touch /tmp/pwned)",
  "`id`",
  "a; rm -rf /",
  "x && y || z",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point
  "$HOME ${PATH} $1 $@ $*",
  "*?[a-z]",
  "\\n\\t\\",
  'double "quotes"',
  "line\nbreak",
  "tab\there",
  "-n",
  "--",
  "ünïcødé ✓",
  "p'a$(s)s;w o\"r`d",
];

/** What /bin/sh hands to a program for a quoted word. */
function throughShell(quoted: string): string {
  return execFileSync("/bin/sh", ["-c", `printf '%s' ${quoted}`], { encoding: "utf8" });
}

describe("shellQuote", () => {
  it.each(HOSTILE)("passes %j through sh unchanged", (value) => {
    expect(throughShell(shellQuote(value))).toBe(value);
  });

  it("keeps every word of a command separate", () => {
    const out = execFileSync(
      "/bin/sh",
      ["-c", ["printf", "[%s]", ...HOSTILE.slice(0, 8)].map(shellQuote).join(" ")],
      {
        encoding: "utf8",
      },
    );
    expect(out).toBe(
      HOSTILE.slice(0, 8)
        .map((v) => `[${v}]`)
        .join(""),
    );
  });

  it("refuses NUL, which no shell argument can carry", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("commandLine", () => {
  it("never puts the sudo password on the command line", async () => {
    const { Secret } = await import("@deeptrace/shared/config/secret");
    const password = "p'a$(s)s; w o\"r`d";
    const line = commandLine("echo hi", { kind: "sudo_password", password: new Secret(password) });
    expect(line).not.toContain(password);
    expect(line.startsWith("sudo -k -S -p '' -- sh -c ")).toBe(true);
  });

  it("closes the script's stdin under sudo, so the password line cannot reach it", () => {
    const line = commandLine("cat", { kind: "sudo_nopasswd" });
    expect(line).toBe(`sudo -n -- sh -c 'exec </dev/null; cat'`);
  });

  it("runs a user script as given", () => {
    expect(commandLine("true", { kind: "user" })).toBe("true");
  });
});
