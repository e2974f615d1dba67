import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@deeptrace/shared/config/load-config";
import { configSchema } from "@deeptrace/shared/config/schema";
import { Secret } from "@deeptrace/shared/config/secret";
import { describe, expect, it } from "vitest";
import { type SchemaKey, schemaKeys } from "./schema-keys.js";

// docs/configuration.md must document every key of the schema with its real default, its
// override variable and whether it is a secret, and nothing else, so the two cannot drift.

const DOC_PATH = new URL("../../../docs/configuration.md", import.meta.url);
const doc = readFileSync(DOC_PATH, "utf8");

/** A variable a secret reference can resolve against while probing the schema. */
const PROBE_VARIABLE = "DEEPTRACE_DOC_TEST_SECRET";
const keys = schemaKeys(configSchema({ [PROBE_VARIABLE]: "probe" }));

interface DocRow {
  key: string;
  type: string;
  defaultValue: string;
  envVariable: string;
  secret: string;
  meaning: string;
}

/** Rows of the reference tables: `| \`key\` | type | default | env override | secret | meaning |`. */
function docRows(text: string): DocRow[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(" | ")
        .map((cell) => cell.trim());
      if (cells.length !== 6) throw new Error(`docs/configuration.md: not 6 cells: ${line}`);
      const [key, type, defaultValue, envVariable, secret, meaning] = cells as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      return { key: key.replaceAll("`", ""), type, defaultValue, envVariable, secret, meaning };
    });
}

/** How the default cell must read: the value the schema gives an absent key, as TOML/JSON. */
function expectedDefault(key: SchemaKey): string {
  const result = key.schema.safeParse(undefined);
  if (!result.success) return "required";
  if (result.data === undefined) return "none";
  return `\`${JSON.stringify(result.data)}\``;
}

/** A key is a secret when it resolves an `env:` reference into a Secret. */
function isSecret(key: SchemaKey): boolean {
  const result = key.schema.safeParse(`env:${PROBE_VARIABLE}`);
  return result.success && result.data instanceof Secret;
}

const rows = docRows(doc);

describe("docs/configuration.md", () => {
  it("walks the whole schema (nested tables and array entries included)", () => {
    const paths = keys.map((key) => key.path);
    expect(paths).toContain("elastic.url");
    expect(paths).toContain("agent_manager.agent_defaults.source.install_dir");
    expect(paths).toContain("auth.tokens[].token");
    expect(paths).toContain("agents[].agent_info.host_ip");
    expect(paths).toContain("span_poller.clock_offsets_ns");
  });

  it("documents every schema key exactly once and no key the schema lacks", () => {
    const documented = rows.map((row) => row.key);
    const inSchema = keys.map((key) => key.path);
    const duplicated = documented.filter((key, i) => documented.indexOf(key) !== i);
    expect({
      undocumented: inSchema.filter((key) => !documented.includes(key)),
      notInSchema: documented.filter((key) => !inSchema.includes(key)),
      duplicated,
    }).toEqual({ undocumented: [], notInSchema: [], duplicated: [] });
  });

  it.each(keys)("documents $path as in the schema", (key) => {
    const row = rows.find((r) => r.key === key.path);
    expect(row, `no row for ${key.path}`).toBeDefined();
    expect({
      defaultValue: row?.defaultValue,
      envVariable: row?.envVariable,
      secret: row?.secret,
    }).toEqual({
      defaultValue: expectedDefault(key),
      envVariable: `\`${key.envVariable}\``,
      secret: isSecret(key) ? "yes" : "",
    });
    expect(row?.type).not.toBe("");
    expect(row?.meaning).not.toBe("");
  });

  it("has an example that loads", () => {
    const example = /```toml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example, "no ```toml example").toBeDefined();
    const path = join(mkdtempSync(join(tmpdir(), "deeptrace-doc-")), "example.toml");
    writeFileSync(path, example ?? "");
    const references = [...(example ?? "").matchAll(/"env:([A-Z0-9_]+)"/g)].map((m) => m[1]);
    const env = Object.fromEntries(references.map((name) => [name, `value-of-${name}`]));

    const config = loadConfig({ path, env });

    expect(config.agents.map((agent) => agent.agent_info.agent_name)).toEqual(["web-1", "db-1"]);
    expect(config.auth.tokens[0]?.token.reveal()).toBe("value-of-DEEPTRACE_ADMIN_TOKEN");
  });
});
