import { runService } from "@deeptrace/shared/service/run-service";
import { traceAssemblerService } from "./api/trace-assembler-service.js";

await runService({
  name: "trace-assembler",
  section: (config) => config.trace_assembler,
  setup: async () => ({ services: [traceAssemblerService()] }),
});
