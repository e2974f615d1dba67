#!/usr/bin/env node
/**
 * deeptrace: the reconstruction engine on a file, no server needed.
 *
 *   deeptrace assemble --input FILE [--format auto|agent|flat|pairs] [--ground-truth FILE]
 *                      [--clock-offsets FILE] [--out traces.ndjson] [--algo deeptrace|fifo]
 *                      [--observed-ids] [--mask-propagated-ids] [--report]
 *
 * --mask-propagated-ids blanks X-Request-Id, request_id, traceparent, b3/X-B3-* and
 * uber-trace-id values before payload features are computed (accuracy without them).
 *
 * --clock-offsets gives each agent's clock offset (wall clock minus monotonic clock): a
 * JSON object {"<agent>": "<ns>"} or a workload manifest with agents[].recordedClockOffsetNs.
 *
 * Reads span documents (JSON array, {"spans": [...]}, or NDJSON streamed line by line),
 * assembles traces, writes them as NDJSON (protobuf JSON, one trace per line) and, with
 * --report, prints what was read and rejected, the traces and links found, timings and,
 * where ground truth exists (observed ids in payloads, or --ground-truth), accuracy.
 * Bad flags or unreadable files exit with code 2 and a message naming the flag or file.
 */
import { createWriteStream } from "node:fs";
import { access, constants, readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { parseArgs } from "node:util";
import { toJsonString } from "@bufbuild/protobuf";
import { TraceSchema } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { SPAN_FORMATS, type SpanFormat } from "@deeptrace/shared/spans/format-detect";
import { SpanTableIngestor } from "@deeptrace/shared/spans/ingest";
import type { TableIngestResult } from "@deeptrace/shared/spans/ingest-result";
import { type Algorithm, type AssembleResult, assembleTable } from "../engine/assemble.js";
import {
  type GroundTruth,
  groundTruthFromObservedIds,
  parseGroundTruth,
} from "../scoring/ground-truth.js";
import { score } from "../scoring/score.js";
import { InputError, readDocuments } from "./read-input.js";
import { formatReport } from "./report.js";

const USAGE = `usage: deeptrace assemble --input FILE [--format auto|agent|flat|pairs] [--ground-truth FILE]
                          [--clock-offsets FILE] [--out traces.ndjson] [--algo deeptrace|fifo]
                          [--observed-ids] [--mask-propagated-ids] [--report]`;

class UsageError extends Error {}

interface AssembleArgs {
  input: string;
  format: SpanFormat | "auto";
  groundTruth?: string;
  clockOffsets?: string;
  out?: string;
  algo: Algorithm;
  observedIds: boolean;
  maskPropagatedIds: boolean;
  report: boolean;
}

function parseCommand(argv: string[]): AssembleArgs {
  const [command, ...rest] = argv;
  if (command !== "assemble") {
    throw new UsageError(command ? `unknown command "${command}"` : "missing command");
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        input: { type: "string" },
        format: { type: "string", default: "auto" },
        "ground-truth": { type: "string" },
        "clock-offsets": { type: "string" },
        out: { type: "string" },
        algo: { type: "string", default: "deeptrace" },
        "observed-ids": { type: "boolean", default: false },
        "mask-propagated-ids": { type: "boolean", default: false },
        report: { type: "boolean", default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const input = values.input;
  if (typeof input !== "string" || input === "") throw new UsageError("--input FILE is required");
  const format = values.format as string;
  if (format !== "auto" && !SPAN_FORMATS.includes(format as SpanFormat)) {
    throw new UsageError(`--format must be auto, agent, flat or pairs, not "${format}"`);
  }
  const algo = values.algo as string;
  if (algo !== "deeptrace" && algo !== "fifo")
    throw new UsageError(`--algo must be deeptrace or fifo, not "${algo}"`);
  return {
    input,
    format: format as SpanFormat | "auto",
    groundTruth: values["ground-truth"] as string | undefined,
    clockOffsets: values["clock-offsets"] as string | undefined,
    out: values.out as string | undefined,
    algo,
    observedIds: values["observed-ids"] === true,
    maskPropagatedIds: values["mask-propagated-ids"] === true,
    report: values.report === true,
  };
}

async function readable(path: string, flag: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new UsageError(`${flag}: cannot read file ${path}`);
  }
}

async function readClockOffsets(path: string): Promise<Map<string, bigint>> {
  await readable(path, "--clock-offsets");
  const offsets = new Map<string, bigint>();
  try {
    const doc = JSON.parse(await readFile(path, "utf8")) as unknown;
    const agents = (doc as { agents?: unknown }).agents;
    const entries: [unknown, unknown][] = Array.isArray(agents)
      ? agents.map((a: { agent?: unknown; recordedClockOffsetNs?: unknown }) => [
          a.agent,
          a.recordedClockOffsetNs,
        ])
      : Object.entries(doc as object);
    for (const [agent, ns] of entries) {
      if (typeof agent !== "string" || !(typeof ns === "string" || typeof ns === "number")) {
        throw new Error("expected agent names mapped to offsets in ns");
      }
      offsets.set(agent, BigInt(ns));
    }
  } catch (err) {
    throw new UsageError(`--clock-offsets: ${path}: ${(err as Error).message}`);
  }
  return offsets;
}

async function writeTraces(path: string, traces: AssembleResult["traces"]): Promise<void> {
  const out = createWriteStream(path, "utf8");
  const failed = new Promise<never>((_, reject) => out.on("error", reject));
  const write = async () => {
    for (const t of traces) {
      if (!out.write(`${toJsonString(TraceSchema, t)}\n`))
        await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    }
    await new Promise<void>((resolve) => out.end(() => resolve()));
  };
  try {
    await Promise.race([write(), failed]);
  } catch (err) {
    throw new UsageError(`--out: cannot write ${path}: ${(err as Error).message}`);
  }
}

/**
 * The input file as a SpanTable. Its own function so that the ingestor (its de-duplication
 * set and intern maps) is garbage by the time the engine runs.
 */
async function ingestFile(
  args: AssembleArgs,
  clockOffsetsNs: Map<string, bigint> | undefined,
): Promise<TableIngestResult> {
  const index = basename(args.input, extname(args.input));
  const ingestor = new SpanTableIngestor({ format: args.format, index, clockOffsetsNs });
  try {
    await readDocuments(args.input, ingestor);
  } catch (err) {
    if (err instanceof InputError) throw new UsageError(`--input: ${err.message}`);
    throw err;
  }
  return ingestor.finish();
}

async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv);
  await readable(args.input, "--input");
  if (args.groundTruth) await readable(args.groundTruth, "--ground-truth");
  const clockOffsetsNs = args.clockOffsets ? await readClockOffsets(args.clockOffsets) : undefined;

  const t0 = performance.now();
  const ingest = await ingestFile(args, clockOffsetsNs);
  const t1 = performance.now();
  const result = assembleTable(ingest.table, {
    algorithm: args.algo,
    useObservedIds: args.observedIds,
    maskPropagatedIds: args.maskPropagatedIds,
  });
  const t2 = performance.now();
  if (args.out) await writeTraces(args.out, result.traces);
  const t3 = performance.now();

  if (args.report) {
    let truth: GroundTruth = groundTruthFromObservedIds(ingest.table);
    if (args.groundTruth) {
      try {
        truth = parseGroundTruth((await readFile(args.groundTruth, "utf8")).split("\n"));
      } catch (err) {
        throw new UsageError(`--ground-truth: ${(err as Error).message}`);
      }
    }
    const accuracy = truth.requestOf.size > 0 ? score(result.traces, truth) : undefined;
    process.stdout.write(
      formatReport({
        input: args.input,
        algorithm: args.algo,
        ingest,
        stats: result.stats,
        accuracy,
        timingsMs: { ingest: t1 - t0, assemble: t2 - t1, write: t3 - t2 },
      }),
    );
  }
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`deeptrace: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`deeptrace: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
