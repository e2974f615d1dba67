import { runService } from "@deeptrace/shared/service/run-service";
import { setupAgentManager } from "./manager.js";

await runService({
  name: "agent-manager",
  section: (config) => config.agent_manager,
  setup: setupAgentManager,
});
