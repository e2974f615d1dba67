import { AgentManagerService } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import type { HostedService } from "@deeptrace/shared/grpc/host-service";
import { unimplemented } from "@deeptrace/shared/grpc/unimplemented";

/** The fleet API: viewers read, operators run the lifecycle, admins change the inventory. */
export function agentManagerService(): HostedService<typeof AgentManagerService> {
  const notYet = (method: string) => () => {
    throw unimplemented(method);
  };
  return {
    service: AgentManagerService,
    roles: {
      listAgents: "viewer",
      getAgent: "viewer",
      registerAgent: "admin",
      updateAgent: "admin",
      removeAgent: "admin",
      deployAgents: "operator",
      startAgents: "operator",
      stopAgents: "operator",
      restartAgents: "operator",
      syncConfig: "operator",
      updateConfig: "operator",
      testConnectivity: "operator",
      getAgentConfig: "viewer",
      watchAgents: "viewer",
    },
    implementation: {
      listAgents: notYet("ListAgents"),
      getAgent: notYet("GetAgent"),
      registerAgent: notYet("RegisterAgent"),
      updateAgent: notYet("UpdateAgent"),
      removeAgent: notYet("RemoveAgent"),
      // biome-ignore lint/correctness/useYield: streams nothing until implemented
      deployAgents: async function* () {
        throw unimplemented("DeployAgents");
      },
      startAgents: notYet("StartAgents"),
      stopAgents: notYet("StopAgents"),
      restartAgents: notYet("RestartAgents"),
      syncConfig: notYet("SyncConfig"),
      updateConfig: notYet("UpdateConfig"),
      testConnectivity: notYet("TestConnectivity"),
      getAgentConfig: notYet("GetAgentConfig"),
      // biome-ignore lint/correctness/useYield: streams nothing until implemented
      watchAgents: async function* () {
        throw unimplemented("WatchAgents");
      },
    },
  };
}
