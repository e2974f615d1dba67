import { AgentManagerService } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import { createServiceClient } from "@deeptrace/shared/grpc/client";

export const TOKENS = {
  viewer: "am-test-viewer-token-1f3a",
  operator: "am-test-operator-token-7c2e",
  admin: "am-test-admin-token-9b4d",
} as const;

export function authToml(): string {
  return Object.entries(TOKENS)
    .map(
      ([role, token]) =>
        `[[auth.tokens]]\nname = "${role}"\nrole = "${role}"\ntoken = "${token}"\n`,
    )
    .join("\n");
}

export function clients(address: string) {
  return {
    anonymous: createServiceClient(AgentManagerService, { address }),
    viewer: createServiceClient(AgentManagerService, { address, token: TOKENS.viewer }),
    operator: createServiceClient(AgentManagerService, { address, token: TOKENS.operator }),
    admin: createServiceClient(AgentManagerService, { address, token: TOKENS.admin }),
  };
}
