import { runService } from "@deeptrace/shared/service/run-service";
import { setupAssembler } from "./assembler.js";

await runService({
  name: "trace-assembler",
  section: (config) => config.trace_assembler,
  setup: setupAssembler,
});
