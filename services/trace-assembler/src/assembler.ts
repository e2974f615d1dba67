import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { BulkWriter } from "@deeptrace/shared/elastic/bulk-writer";
import { createElasticClient } from "@deeptrace/shared/elastic/client";
import { ensureTraceIndices, traceIndices } from "@deeptrace/shared/elastic/index-templates";
import { connectNats } from "@deeptrace/shared/nats/connect";
import { ensureWindowStream } from "@deeptrace/shared/nats/window-stream";
import type { ServiceParts, ServiceRuntime } from "@deeptrace/shared/service/run-service";
import type { JetStreamClient, JetStreamManager, JsMsg, NatsConnection } from "nats";
import { type StatsSnapshot, traceAssemblerService } from "./api/trace-assembler-service.js";
import { DeadLetters } from "./consumer/dead-letters.js";
import { MAX_DELIVERIES_REASON, MaxDeliveriesWatcher } from "./consumer/max-deliveries.js";
import { WindowConsumer } from "./consumer/window-consumer.js";
import { ensureWindowConsumer } from "./consumer/window-consumer-setup.js";
import { AssemblerMetrics } from "./metrics/assembler-metrics.js";
import { AssemblerStats } from "./metrics/assembler-stats.js";
import { TraceQueries } from "./query/trace-queries.js";
import { WindowAssembler } from "./windows/window-assembler.js";
import { decodeWindow, type WindowSettings } from "./windows/window-processor.js";
import { WindowRevisions } from "./windows/window-revisions.js";

/**
 * The trace-assembler process. The gRPC API is up at once; in the background it creates the
 * index templates and the shared consumer (retrying until Elasticsearch and NATS answer,
 * while /healthz reports not ready), then takes windows from NATS and writes documents to
 * Elasticsearch.
 */
export async function setupAssembler({
  config,
  logger,
  registry,
}: ServiceRuntime): Promise<ServiceParts> {
  const section = config.trace_assembler;
  const es = createElasticClient(config);
  const indices = traceIndices(config.elastic.index_prefix);
  const metrics = new AssemblerMetrics(registry);
  const stats = new AssemblerStats();
  const settings: WindowSettings = {
    algorithm: section.algorithm,
    useObservedIds: section.use_observed_ids,
  };
  const starting = new AbortController();
  let running:
    | {
        nc: NatsConnection;
        jsm: JetStreamManager;
        windows: WindowConsumer;
        maxDeliveries: MaxDeliveriesWatcher;
        windowAssembler: WindowAssembler;
      }
    | undefined;

  const start = async () => {
    await untilDone(logger, "Elasticsearch index templates", starting.signal, () =>
      ensureTraceIndices(es, config.elastic.index_prefix),
    );
    const nc = await untilDone(logger, "NATS connection", starting.signal, () =>
      connectNats(config, "trace-assembler"),
    );
    const jsm = await nc.jetstreamManager();
    await ensureWindowStream(jsm, config);
    await ensureWindowConsumer(jsm, config);
    const js = nc.jetstream();
    const { windows, maxDeliveries, windowAssembler } = windowConsumer(nc, js, jsm);
    if (starting.signal.aborted) {
      await nc.drain();
      return;
    }
    // Listening before consuming: a window whose last delivery fails from now on is seen.
    await maxDeliveries.start();
    windows.start();
    running = { nc, jsm, windows, maxDeliveries, windowAssembler };
    logger.info(
      { stream: config.nats.stream, consumer: config.nats.consumer },
      "consuming windows",
    );
  };

  const windowConsumer = (nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager) => {
    const writer = new BulkWriter(es, {
      deadLetterIndex: indices.deadLetters,
      maxDocuments: section.bulk_documents,
      maxBytes: section.bulk_max_bytes,
      concurrency: section.bulk_concurrency,
      backoff: { initialMs: section.retry_initial_ms, maxMs: section.retry_max_ms },
      deadlineMs: section.retry_deadline_ms,
      onRetry: ({ attempt, delayMs, cause, documents }) => {
        metrics.writeRetries.inc();
        logger.warn({ attempt, delayMs, documents, cause }, "Elasticsearch write retried");
      },
    });
    const deadLetters = new DeadLetters(js, writer, {
      subject: config.nats.dead_letter_subject,
      index: indices.deadLetters,
      payloadBytes: section.dead_letter_payload_bytes,
    });
    const revisions = new WindowRevisions(es, writer, indices);
    const windowAssembler = new WindowAssembler(indices, settings);
    windowAssembler.start();
    const deadLettered = (reason: string) => {
      stats.deadLetters++;
      metrics.windows.inc({ outcome: "dead_lettered" });
      metrics.deadLetters.inc({ reason: reason.split(":")[0] ?? "unknown" });
    };
    const handle = async (msg: JsMsg, signal: AbortSignal) => {
      const received = process.hrtime.bigint();
      const assembled = await windowAssembler.assemble(msg.data);
      const assembledAt = process.hrtime.bigint();
      const { summary } = assembled;
      logger.debug(
        { windowId: summary.windowId, documents: assembled.documents.ids.length },
        "window assembled",
      );
      const stored = await revisions.stored(summary.windowId, signal);
      if (stored !== undefined && stored > summary.revision) {
        metrics.windows.inc({ outcome: "superseded" });
        logger.info(
          { windowId: summary.windowId, revision: summary.revision, stored },
          "window skipped: a newer revision is stored",
        );
        return;
      }
      const checked = process.hrtime.bigint();
      const result = await writer.write(assembled.documents, signal);
      const storedRevision = await revisions.written(summary, assembled.window, signal);
      const written = process.hrtime.bigint();
      metrics.processingSeconds.observe({ stage: "engine" }, Number(assembledAt - received) / 1e9);
      metrics.processingSeconds.observe({ stage: "check" }, Number(checked - assembledAt) / 1e9);
      metrics.processingSeconds.observe({ stage: "write" }, Number(written - checked) / 1e9);
      metrics.processingSeconds.observe({ stage: "total" }, Number(written - received) / 1e9);
      metrics.documents.inc({ outcome: "written" }, result.written);
      metrics.documents.inc({ outcome: "superseded" }, result.superseded);
      metrics.documents.inc({ outcome: "dead_lettered" }, result.deadLettered);
      metrics.windowWritten(summary);
      stats.windowWritten(summary, written);
      logger.debug(
        { ...summary, ...result, storedRevision, seq: msg.info.streamSequence },
        "window written",
      );
    };
    const windows = new WindowConsumer(
      nc,
      handle,
      {
        stream: config.nats.stream,
        consumer: config.nats.consumer,
        concurrency: section.concurrency,
        pullExpiresMs: section.fetch_expires_ms,
        // The client library's default JetStream API timeout.
        ackTimeoutMs: 5_000,
        inProgressIntervalMs: section.in_progress_interval_ms,
        nakDelayMs: section.nak_delay_ms,
        maxDeliver: config.nats.max_deliver,
        describeFailure: (msg, error) => ({
          reason: `${(error as Error).name ?? "Error"}: ${(error as Error).message ?? String(error)} (after ${msg.info.redeliveryCount} deliveries)`,
          ...windowIdOf(msg.data),
        }),
        deadLetter: (msg, why, signal) => deadLetters.record(msg, why, signal),
        removeFromStream: async (stream, sequence) => {
          await jsm.streams.deleteMessage(stream, sequence, false);
        },
        events: {
          received: (msg) => {
            stats.windowReceived(process.hrtime.bigint());
            if (msg.info.redelivered) {
              stats.redeliveries++;
              metrics.redeliveries.inc();
            }
          },
          nacked: () => metrics.windows.inc({ outcome: "nacked" }),
          deadLettered: (_msg, why) => deadLettered(why.reason),
        },
      },
      logger,
    );
    const maxDeliveries = new MaxDeliveriesWatcher(
      nc,
      jsm,
      {
        stream: config.nats.stream,
        consumer: config.nats.consumer,
        subject: config.nats.subject,
        maxDeliver: config.nats.max_deliver,
        retryMs: section.retry_max_ms,
        describe: (data) => windowIdOf(data),
        deadLetter: (msg, why, signal) => deadLetters.record(msg, why, signal),
        deadLettered: () => deadLettered(MAX_DELIVERIES_REASON),
      },
      logger,
    );
    return { windows, maxDeliveries, windowAssembler };
  };

  const started = start().catch((error: unknown) => {
    if (!starting.signal.aborted) {
      logger.fatal({ err: error }, "trace-assembler could not start consuming windows");
      process.exit(1);
    }
  });

  const queries = new TraceQueries(es, indices);
  return {
    services: [
      traceAssemblerService({
        queries,
        settings,
        maxPageSize: section.max_page_size,
        stats: () => {
          if (!running) throw new ConnectError("not connected to NATS yet", Code.Unavailable);
          return statsSnapshot(stats, running.jsm, config.nats);
        },
      }),
    ],
    healthy: () => running !== undefined && !running.nc.isClosed(),
    stopIntake: async () => {
      starting.abort();
      await started;
      await running?.windows.stop(section.shutdown_grace_ms);
    },
    stop: async () => {
      if (running) {
        await running.maxDeliveries.stop();
        await running.windowAssembler.close();
        await running.nc.drain();
      }
      await es.close();
    },
  };
}

function windowIdOf(data: Uint8Array): { windowId?: string } {
  try {
    return { windowId: decodeWindow(data).windowId };
  } catch {
    return {};
  }
}

async function statsSnapshot(
  stats: AssemblerStats,
  jsm: JetStreamManager,
  nats: { stream: string; consumer: string; subject: string },
): Promise<StatsSnapshot> {
  const info = await jsm.consumers.info(nats.stream, nats.consumer);
  const pending = info.num_pending + info.num_ack_pending;
  let lagNs = 0n;
  if (pending > 0) {
    // Acked windows are removed from the work-queue stream: the first window message after
    // the ack floor is the oldest one not processed yet.
    for (let seq = info.ack_floor.stream_seq + 1; seq <= info.ack_floor.stream_seq + 16; seq++) {
      try {
        const stored = await jsm.streams.getMessage(nats.stream, { seq });
        if (stored.subject !== nats.subject) continue;
        lagNs = BigInt(Date.now() - stored.time.getTime()) * 1_000_000n;
        break;
      } catch {
        // Deleted (acked out of order) or never there: look at the next sequence.
      }
    }
  }
  return {
    windowsProcessed: BigInt(stats.windowsProcessed),
    spansProcessed: BigInt(stats.spansProcessed),
    spansPerSecond: stats.spansPerSecond(),
    tracesWritten: BigInt(stats.tracesWritten),
    redeliveries: BigInt(stats.redeliveries),
    deadLetters: BigInt(stats.deadLetters),
    pendingWindows: BigInt(pending),
    lagNs,
  };
}

/** Runs `step` until it succeeds or `signal` aborts, one attempt per second, logging failures. */
async function untilDone<T>(
  logger: ServiceRuntime["logger"],
  what: string,
  signal: AbortSignal,
  step: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (signal.aborted) throw error;
      if (attempt === 1 || attempt % 30 === 0) {
        logger.warn({ err: error, attempt }, `${what} not ready; retrying`);
      }
      await sleep(1_000, undefined, { signal });
    }
  }
}
