import { createServer } from "node:net";

/**
 * The demo's fixed addresses (each service's default gRPC and HTTP ports; the second
 * assembler takes the next pair), so the grpcurl commands in the README work against it
 * as written.
 */
export const DEMO_LISTEN = {
  agentManager: { grpc: "127.0.0.1:50051", http: "127.0.0.1:9461" },
  spanPoller: { grpc: "127.0.0.1:50052", http: "127.0.0.1:9462" },
  assemblers: [
    { grpc: "127.0.0.1:50053", http: "127.0.0.1:9463" },
    { grpc: "127.0.0.1:50054", http: "127.0.0.1:9464" },
  ],
} as const;

/** Environment that makes a service listen on `listen` (overrides the config file). */
export function listenEnv(
  section: "AGENT_MANAGER" | "SPAN_POLLER" | "TRACE_ASSEMBLER",
  listen: { grpc: string; http: string },
): NodeJS.ProcessEnv {
  return {
    [`DEEPTRACE__${section}__LISTEN`]: listen.grpc,
    [`DEEPTRACE__${section}__HTTP_LISTEN`]: listen.http,
  };
}

function isFree(address: string): Promise<boolean> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(Number(port), host, () => server.close(() => resolve(true)));
  });
}

/** Throws naming every demo address already taken (another demo still running, usually). */
export async function assertDemoPortsFree(): Promise<void> {
  const all = [DEMO_LISTEN.agentManager, DEMO_LISTEN.spanPoller, ...DEMO_LISTEN.assemblers];
  const addresses = all.flatMap((l) => [l.grpc, l.http]);
  const taken = [];
  for (const address of addresses) if (!(await isFree(address))) taken.push(address);
  if (taken.length > 0) {
    throw new Error(
      `${taken.join(", ")} ${taken.length === 1 ? "is" : "are"} in use: is another demo still running? Stop it (Ctrl-C) first`,
    );
  }
}
