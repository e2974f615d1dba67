import type { DemoEnvironment } from "./environment.js";

export interface DemoConfigInput {
  env: DemoEnvironment;
  runId: string;
  adminTokenFile: string;
  viewerTokenFile: string;
  repository: string;
  commit: string;
  dataset: string;
}

/**
 * The one TOML file all three services read in the demo. Indices are named after the run,
 * so runs never mix; the stream is the demo's own; tokens are file references. The
 * agent itself is registered at run time through the API, not seeded here.
 */
/** The demo's JetStream stream: one for all runs, deleted at the start and end of each. */
export const DEMO_STREAM = "DEEPTRACE_DEMO";

export function demoConfig(c: DemoConfigInput): string {
  const esForHosts = new URL(c.env.esUrl);
  esForHosts.hostname = c.env.gateway;
  const name = `demo-${c.runId}`;
  return `# DeepTrace demo run ${c.runId}: written by tools/demo, read by all three services.
[log]
level = "info"

[elastic]
url = "${c.env.esUrl}"
index_prefix = "${name}"

[nats]
url = "${c.env.natsUrl}"
stream = "${DEMO_STREAM}"
subject = "deeptrace-demo.windows"
dead_letter_subject = "deeptrace-demo.dead"
consumer = "deeptrace-demo"
stream_max_bytes = 268435456

[[auth.tokens]]
name = "demo-admin"
role = "admin"
token = "file:${c.adminTokenFile}"

[[auth.tokens]]
name = "demo-viewer"
role = "viewer"
token = "file:${c.viewerTokenFile}"

[agent_manager]
probe_interval_ms = 2000
agent_elastic_url = "${esForHosts.toString().replace(/\/$/, "")}"

[agent_manager.agent_defaults.source]
repository_url = "${c.repository}"
ref = "${c.commit}"

[agent_manager.agent_defaults.emulator]
dataset = "${c.dataset}"
speed = 1.0
loop = false

[span_poller]
agent_manager_token = "file:${c.viewerTokenFile}"
window_ms = 2000
allowed_lateness_ms = 2000
margin_ms = 2000
`;
}
