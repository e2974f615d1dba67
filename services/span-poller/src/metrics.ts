import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The poller's Prometheus metrics. */
export function pollerMetrics(registry: Registry) {
  return {
    spansRead: new Counter({
      name: "deeptrace_poller_spans_read_total",
      help: "Spans read from agent indices",
      labelNames: ["agent"],
      registers: [registry],
    }),
    documentsRejected: new Counter({
      name: "deeptrace_poller_documents_rejected_total",
      help: "Agent documents that could not be turned into spans (counted, not published)",
      labelNames: ["agent"],
      registers: [registry],
    }),
    windowsPublished: new Counter({
      name: "deeptrace_poller_windows_published_total",
      help: "Window messages published, by why: new window, late-span repair or replay",
      labelNames: ["kind"],
      registers: [registry],
    }),
    spansPublished: new Counter({
      name: "deeptrace_poller_spans_published_total",
      help: "Spans published as window members (context copies not counted)",
      registers: [registry],
    }),
    lateSpans: new Counter({
      name: "deeptrace_poller_late_spans_total",
      help: "Spans that arrived after their window was published",
      registers: [registry],
    }),
    repairs: new Counter({
      name: "deeptrace_poller_repairs_total",
      help: "Windows re-published because late spans arrived",
      registers: [registry],
    }),
    windowBytes: new Histogram({
      name: "deeptrace_poller_window_bytes",
      help: "Size of published window messages",
      buckets: [1e3, 1e4, 1e5, 5e5, 1e6, 2e6, 4e6, 8e6, 16e6],
      registers: [registry],
    }),
    lag: new Gauge({
      name: "deeptrace_poller_lag_seconds",
      help: "Wall clock minus the agent's watermark",
      labelNames: ["agent"],
      registers: [registry],
    }),
    publishLag: new Gauge({
      name: "deeptrace_poller_publish_lag_seconds",
      help: "Wall clock minus the start of the next window to publish",
      registers: [registry],
    }),
    windowsSplit: new Counter({
      name: "deeptrace_poller_windows_split_total",
      help: "Window revisions that did not fit into one message and went out in pieces",
      labelNames: ["kind"],
      registers: [registry],
    }),
    spansTooLarge: new Counter({
      name: "deeptrace_poller_spans_too_large_total",
      help: "Spans larger than a window message may be: left out of every window (logged with agent, index and document id)",
      labelNames: ["agent"],
      registers: [registry],
    }),
    publishRetries: new Counter({
      name: "deeptrace_poller_publish_retries_total",
      help: "JetStream publishes retried (stream full, no ack, server away)",
      registers: [registry],
    }),
    elasticErrors: new Counter({
      name: "deeptrace_poller_elasticsearch_errors_total",
      help: "Failed Elasticsearch calls (retried with back-off)",
      labelNames: ["operation"],
      registers: [registry],
    }),
  };
}

export type PollerMetrics = ReturnType<typeof pollerMetrics>;
