/** What an agent's REST API reports at GET /api/status (the fields the manager reads). */
export interface AgentApiStatus {
  config_hash?: string;
  /** The agent's name, when the agent reports it (the emulator does). */
  agent?: string;
  [key: string]: unknown;
}

export class AgentApiError extends Error {}

function baseUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

async function call(url: string, init: RequestInit, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new AgentApiError(`${url} did not answer (${cause ?? (error as Error).message})`);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new AgentApiError(`${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new AgentApiError(`${url} answered with something that is not JSON`);
  }
}

/**
 * Why an answer is not from the expected agent: another agent's process can hold the port
 * (a stale process, or a second agent configured on the same host and port).
 */
export function foreignAgent(
  status: AgentApiStatus,
  expected: string,
  port: number,
): string | undefined {
  return typeof status.agent === "string" && status.agent !== expected
    ? `port ${port} answers as agent ${status.agent}, not ${expected}`
    : undefined;
}

/** GET /api/status of the agent. */
export async function fetchAgentStatus(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<AgentApiStatus> {
  return (await call(
    `${baseUrl(host, port)}/api/status`,
    { method: "GET" },
    timeoutMs,
  )) as AgentApiStatus;
}

/** POST /api/config/update with the full config JSON (the agent's hot reload). */
export async function postConfigUpdate(
  host: string,
  port: number,
  config: Record<string, unknown>,
  timeoutMs: number,
): Promise<AgentApiStatus> {
  return (await call(
    `${baseUrl(host, port)}/api/config/update`,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(config),
    },
    timeoutMs,
  )) as AgentApiStatus;
}
