import { runService } from "@deeptrace/shared/service/run-service";
import { spanPollerService } from "./api/span-poller-service.js";

await runService({
  name: "span-poller",
  section: (config) => config.span_poller,
  setup: async () => ({ services: [spanPollerService()] }),
});
