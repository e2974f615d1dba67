import { createElasticClient } from "@deeptrace/shared/elastic/client";
import { runService } from "@deeptrace/shared/service/run-service";
import { spanPollerService } from "./api/span-poller-service.js";
import { pollerMetrics } from "./metrics.js";
import { NatsLink } from "./nats-link.js";
import { SpanPoller } from "./poller.js";

await runService({
  name: "span-poller",
  section: (config) => config.span_poller,
  setup: async ({ config, logger, registry }) => {
    const es = createElasticClient(config);
    // NATS and Elasticsearch are reached from the poller loop, retried with back-off: the
    // service starts (health NOT ready, the error in GetStatus) while either is away.
    const nats = new NatsLink(config);
    const poller = new SpanPoller({
      config,
      logger,
      es,
      nats,
      metrics: pollerMetrics(registry),
    });
    poller.start();
    return {
      services: [spanPollerService(poller)],
      healthy: () => poller.healthy(),
      stop: async () => {
        await poller.stop(config.span_poller.shutdown_grace_ms);
        await nats.close();
        await es.close();
      },
    };
  },
});
