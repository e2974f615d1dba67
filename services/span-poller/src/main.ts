import { createElasticClient } from "@deeptrace/shared/elastic/client";
import { connectNats } from "@deeptrace/shared/nats/connect";
import { ensureWindowStream } from "@deeptrace/shared/nats/window-stream";
import { runService } from "@deeptrace/shared/service/run-service";
import { spanPollerService } from "./api/span-poller-service.js";
import { pollerMetrics } from "./metrics.js";
import { SpanPoller } from "./poller.js";

/** Without max_payload in the server's INFO, NATS's own default (1 MiB) applies. */
const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;

await runService({
  name: "span-poller",
  section: (config) => config.span_poller,
  setup: async ({ config, logger, registry }) => {
    const es = createElasticClient(config);
    const nc = await connectNats(config, "span-poller");
    await ensureWindowStream(await nc.jetstreamManager(), config);
    const maxPayload = nc.info?.max_payload ?? NATS_DEFAULT_MAX_PAYLOAD;
    logger.info({ maxPayload, subject: config.nats.subject }, "connected to NATS");
    const poller = new SpanPoller({
      config,
      logger,
      es,
      js: nc.jetstream(),
      maxPayload,
      metrics: pollerMetrics(registry),
    });
    poller.start();
    return {
      services: [spanPollerService(poller)],
      healthy: () => poller.healthy(),
      stop: async () => {
        await poller.stop(config.span_poller.shutdown_grace_ms);
        await nc.drain();
        await es.close();
      },
    };
  },
});
