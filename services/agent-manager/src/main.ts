import { runService } from "@deeptrace/shared/service/run-service";
import { agentManagerService } from "./api/agent-manager-service.js";

await runService({
  name: "agent-manager",
  section: (config) => config.agent_manager,
  setup: async () => ({ services: [agentManagerService()] }),
});
