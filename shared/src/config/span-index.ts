import type { Config } from "./schema.js";

/** The span index of an agent that names none: `spans_<agent>`, as the agent itself defaults. */
export function defaultSpanIndex(agentName: string): string {
  return `spans_${agentName}`;
}

/** The `index_name` of a `[sender]` block, when it names one. */
export function senderIndexName(sender: unknown): string | undefined {
  if (typeof sender !== "object" || sender === null || Array.isArray(sender)) return undefined;
  const index = (sender as Record<string, unknown>).index_name;
  return typeof index === "string" && index.length > 0 ? index : undefined;
}

/**
 * The index an agent of `[[agents]]` writes its spans to, as the agent-manager renders its
 * config: the agent's own `[sender] index_name`, else `[agent_manager.agent_defaults.sender]
 * index_name`, else `spans_<agent>`. (An index changed later through UpdateConfig is only
 * known to the agent-manager, whose ListAgents reports it.)
 */
export function configuredSpanIndex(config: Config, agent: Config["agents"][number]): string {
  return (
    senderIndexName(agent.sender) ??
    senderIndexName(config.agent_manager.agent_defaults.sender) ??
    defaultSpanIndex(agent.agent_info.agent_name)
  );
}
