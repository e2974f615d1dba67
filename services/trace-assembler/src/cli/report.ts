/** The human-readable report of `deeptrace assemble --report`. */
import type { IngestSummary } from "@deeptrace/shared/spans/ingest-result";
import type { AssembleStats } from "../engine/assemble.js";
import type { AccuracyReport, LinkMetrics } from "../scoring/score.js";

export interface ReportInput {
  input: string;
  algorithm: string;
  ingest: IngestSummary;
  stats: AssembleStats;
  accuracy?: AccuracyReport;
  timingsMs: { ingest: number; assemble: number; write: number };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number) => `${x.toFixed(1)} ms`;

function linkRow(name: string, m: LinkMetrics): string {
  return `  ${name.padEnd(28)} ${String(m.expected).padStart(8)} ${String(m.predicted).padStart(9)} ${String(m.correct).padStart(8)} ${pct(m.precision).padStart(9)} ${pct(m.recall).padStart(8)}`;
}

export function formatReport(r: ReportInput): string {
  const out: string[] = [];
  const { ingest, stats } = r;
  const spansPerSecond = stats.spans / ((r.timingsMs.ingest + r.timingsMs.assemble) / 1000);
  out.push(`input      ${r.input}`);
  out.push(`algorithm  ${r.algorithm}`);
  out.push(
    `documents  ${ingest.read} read, ${stats.spans} spans, ${ingest.rejected} rejected` +
      (Object.keys(ingest.formats).length ? ` (formats: ${JSON.stringify(ingest.formats)})` : ""),
  );
  for (const [reason, n] of Object.entries(ingest.reasons))
    out.push(`  rejected ${String(n).padStart(7)}  ${reason}`);
  for (const ex of ingest.examples.slice(0, 5))
    out.push(`  e.g. document ${ex.position}: ${ex.reason}`);
  out.push(`traces     ${stats.traces} (${stats.orphanTraces} rooted at a fragment)`);
  out.push(
    `links      cross ${stats.links.cross} (NAT fallback ${stats.links.crossNatFallback}), intra ${stats.links.intra}, observed ${stats.links.observed}`,
  );
  out.push(
    `unlinked   ${stats.unlinkedEgress} egress, ${stats.unlinkedIngress} ingress; ${stats.suspectResponses} mispaired responses caught; ${stats.cyclesBroken} cycles broken`,
  );
  out.push(
    `time       ingest ${ms(r.timingsMs.ingest)}, assemble ${ms(r.timingsMs.assemble)}, write ${ms(r.timingsMs.write)} (${Math.round(spansPerSecond)} spans/s ingest+assemble)`,
  );
  const a = r.accuracy;
  if (!a) {
    out.push("accuracy   no ground truth (no observed ids in payloads, no --ground-truth)");
    return `${out.join("\n")}\n`;
  }
  out.push(
    `accuracy   ${a.truth}-level ground truth: ${a.spansScored} spans scored, ${a.spansWithoutTruth} without truth (excluded)`,
  );
  out.push(
    `  end-to-end (every egress parent right)  ${pct(a.e2e.accuracy)}  (${a.e2e.correct}/${a.e2e.requests} requests)`,
  );
  out.push(
    `  end-to-end (every link right)           ${pct(a.e2eAllLinks.accuracy)}  (${a.e2eAllLinks.correct}/${a.e2eAllLinks.requests} requests)`,
  );
  out.push(
    `  ${"links".padEnd(28)} ${"expected".padStart(8)} ${"predicted".padStart(9)} ${"correct".padStart(8)} ${"precision".padStart(9)} ${"recall".padStart(8)}`,
  );
  out.push(linkRow("intra (all)", a.intra));
  out.push(linkRow("cross (all)", a.cross));
  for (const [service, m] of Object.entries(a.perService)) {
    if (m.intra.expected + m.intra.predicted > 0) out.push(linkRow(`intra ${service}`, m.intra));
    if (m.cross.expected + m.cross.predicted > 0) out.push(linkRow(`cross ${service}`, m.cross));
  }
  return `${out.join("\n")}\n`;
}
