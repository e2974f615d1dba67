import { z } from "zod";
import type { ConfigFields } from "../fields.js";

/**
 * `[[agents]]`: the agent inventory seed, in the upstream shape (`[agents.agent_info]` plus
 * the agent's own blocks, passed through to the agent as they are), extended with key auth,
 * a pinned host key, labels, sudo and the agent's source.
 */
export function agentsSection(f: ConfigFields) {
  const agentInfo = z.strictObject({
    agent_name: f.indexName,
    user_name: z.string().min(1),
    host_ip: z.string().min(1),
    /** Upstream files give the port as a string. */
    ssh_port: z.union([f.port, z.string().regex(/^\d+$/).transform(Number)]).default(22),
    host_password: f.secret.optional(),
    private_key_path: z.string().min(1).optional(),
    private_key_passphrase: f.secret.optional(),
    /** Pinned host key, "SHA256:..." as printed by ssh-keygen -lf. */
    host_key_fingerprint: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]+=*$/)
      .optional(),
    /**
     * Run the install, run and stop scripts through sudo: with sudo_password (or
     * host_password) written to sudo's standard input, else non-interactively (NOPASSWD).
     */
    sudo: z.boolean().default(false),
    sudo_password: f.secret.optional(),
    deeptrace_port: f.port.optional(),
    code_path: z.string().min(1).optional(),
    workers: z.number().int().positive().optional(),
    labels: z.record(z.string(), z.string()).default({}),
  });

  const source = z.strictObject({
    repository_url: z.string().min(1).optional(),
    ref: z.string().min(1).optional(),
    install_dir: z.string().min(1).optional(),
    install_script: z.string().min(1).optional(),
    run_script: z.string().min(1).optional(),
    stop_script: z.string().min(1).optional(),
  });

  const block = z.record(z.string(), z.unknown());

  return z.array(
    z
      .strictObject({
        agent_info: agentInfo,
        source: source.optional(),
        span: block.optional(),
        sender: block.optional(),
        trace: block.optional(),
        ebpf: block.optional(),
        api: block.optional(),
        metric: block.optional(),
        /** Settings of the agent emulator (tools/agent-emulator), passed through. */
        emulator: block.optional(),
      })
      .refine(
        (agent) =>
          agent.agent_info.host_password !== undefined ||
          agent.agent_info.private_key_path !== undefined,
        { message: "give agent_info.host_password or agent_info.private_key_path" },
      ),
  );
}
