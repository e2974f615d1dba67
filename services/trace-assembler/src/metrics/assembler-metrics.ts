import { Counter, Histogram, type Registry } from "prom-client";
import type { WindowSummary } from "../windows/window-processor.js";

/** Prometheus metrics of the window pipeline. */
export class AssemblerMetrics {
  readonly windows: Counter<"outcome">;
  readonly spans: Counter;
  readonly traces: Counter;
  readonly links: Counter<"kind">;
  readonly orphanSpans: Counter;
  readonly lateSpans: Counter;
  readonly writeRetries: Counter;
  readonly documents: Counter<"outcome">;
  readonly redeliveries: Counter;
  readonly deadLetters: Counter<"reason">;
  readonly processingSeconds: Histogram<"stage">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.windows = new Counter({
      name: "deeptrace_assembler_windows_total",
      help: "Windows handled, by outcome (acked, superseded, nacked, dead_lettered)",
      labelNames: ["outcome"],
      registers,
    });
    this.spans = new Counter({
      name: "deeptrace_assembler_spans_total",
      help: "Spans in acknowledged windows (margin spans included)",
      registers,
    });
    this.traces = new Counter({
      name: "deeptrace_assembler_traces_total",
      help: "Traces written (emitted by acknowledged windows)",
      registers,
    });
    this.links = new Counter({
      name: "deeptrace_assembler_links_total",
      help: "Spans of written traces by how their parent was found (root, cross, intra, observed)",
      labelNames: ["kind"],
      registers,
    });
    this.orphanSpans = new Counter({
      name: "deeptrace_assembler_orphan_spans_total",
      help: "Spans of written traces whose parent could not be resolved",
      registers,
    });
    this.lateSpans = new Counter({
      name: "deeptrace_assembler_late_spans_total",
      help: "Spans of written traces that arrived after their window was first published",
      registers,
    });
    this.writeRetries = new Counter({
      name: "deeptrace_assembler_write_retries_total",
      help: "Bulk requests sent again after a 429 or a transient Elasticsearch error",
      registers,
    });
    this.documents = new Counter({
      name: "deeptrace_assembler_documents_total",
      help: "Documents written to Elasticsearch, by outcome (written, superseded, dead_lettered)",
      labelNames: ["outcome"],
      registers,
    });
    this.redeliveries = new Counter({
      name: "deeptrace_assembler_redeliveries_total",
      help: "Windows received again after an earlier delivery was not acknowledged",
      registers,
    });
    this.deadLetters = new Counter({
      name: "deeptrace_assembler_dead_letters_total",
      help: "Messages moved to the dead-letter subject and index, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.processingSeconds = new Histogram({
      name: "deeptrace_assembler_processing_seconds",
      help: "Time per window: engine (decode and assembly on the worker thread, queueing included), revision check, write, and total from receipt to acknowledgement",
      labelNames: ["stage"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
  }

  windowWritten(summary: WindowSummary): void {
    this.windows.inc({ outcome: "acked" });
    this.spans.inc(summary.spans);
    this.traces.inc(summary.traces);
    for (const [kind, count] of Object.entries(summary.links)) this.links.inc({ kind }, count);
    this.orphanSpans.inc(summary.orphanSpans);
    this.lateSpans.inc(summary.lateSpans);
  }
}
