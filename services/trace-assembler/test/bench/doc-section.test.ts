import { describe, expect, it } from "vitest";
import { withSection } from "../../src/bench/doc-section.js";

describe("a benchmark's section of docs/benchmarks.md", () => {
  it("is appended between markers, then replaced in place, leaving other sections and hand-written notes", () => {
    const index = "# Benchmarks\n\n| what |\n";
    const engine1 = withSection(index, "engine", "## Engine\n\nrun 1\n");
    const both = withSection(`${engine1}\nnotes by hand\n`, "assembler", "## Pipeline\n\nA\n");
    const engine2 = withSection(both, "engine", "## Engine\n\nrun 2\n");
    expect(engine2).toBe(
      [
        "# Benchmarks",
        "",
        "| what |",
        "",
        "<!-- bench:engine start (written by npm run bench:engine) -->",
        "## Engine",
        "",
        "run 2",
        "<!-- bench:engine end -->",
        "",
        "notes by hand",
        "",
        "<!-- bench:assembler start (written by npm run bench:assembler) -->",
        "## Pipeline",
        "",
        "A",
        "<!-- bench:assembler end -->",
        "",
      ].join("\n"),
    );
  });
});
