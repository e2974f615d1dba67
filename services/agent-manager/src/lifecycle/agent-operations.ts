import type { AgentRecord } from "../inventory/agent-record.js";
import type { Inventory } from "../inventory/inventory.js";
import type { ConnectionPool } from "../ssh/connection-pool.js";
import { AgentApiError, fetchAgentStatus, foreignAgent, postConfigUpdate } from "./agent-api.js";
import { AgentSession, type SessionSettings } from "./agent-session.js";
import { type ProgressSink, type Step, StepError } from "./progress.js";
import {
  cloneScript,
  mkdirScript,
  removeScript,
  repoScript,
  stopScript,
} from "./remote-scripts.js";
import { type RenderContext, type RenderedConfig, renderAgentConfig } from "./render-config.js";

export interface OperationSettings extends SessionSettings {
  apiTimeoutMs: number;
  startTimeoutMs: number;
}

/** The outcome of one agent's operation. */
export interface OperationResult {
  agent: string;
  ok: boolean;
  failedStep?: Step | undefined;
  message: string;
}

export type OperationName =
  | "deploy"
  | "deploy_and_start"
  | "start"
  | "stop"
  | "restart"
  | "sync_config"
  | "update_config"
  | "uninstall"
  | "test";

export interface OperationHooks {
  /** After an operation (success or not): re-probe the agent's health. */
  afterOperation: (agent: string) => Promise<void>;
  /** Every finished operation, for metrics. */
  onFinished?: (operation: OperationName, result: OperationResult, seconds: number) => void;
}

/**
 * The lifecycle of one agent. Every operation is a sequence of idempotent steps, each
 * reported as started / log lines / succeeded or failed; the first failing step ends the
 * operation with a result naming it.
 */
export class AgentOperations {
  /** The tail of each agent's operation queue: operations on one agent never overlap. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly pool: ConnectionPool,
    private readonly inventory: Inventory,
    private readonly settings: OperationSettings,
    private readonly render: RenderContext,
    private readonly hooks: OperationHooks,
  ) {}

  renderFor(agent: AgentRecord): RenderedConfig {
    return renderAgentConfig(agent, this.render);
  }

  /** Runs an operation once the agent's previous one finished. */
  run(
    operation: OperationName,
    agent: AgentRecord,
    progress: ProgressSink,
    signal?: AbortSignal,
  ): Promise<OperationResult> {
    const previous = this.#queues.get(agent.name) ?? Promise.resolve();
    const next = previous.then(async () => {
      const started = process.hrtime.bigint();
      const result = await this.#run(operation, agent, progress, signal);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.hooks.onFinished?.(operation, result, seconds);
      return result;
    });
    const tail = next.catch(() => undefined);
    this.#queues.set(agent.name, tail);
    void tail.then(() => {
      if (this.#queues.get(agent.name) === tail) this.#queues.delete(agent.name);
    });
    return next;
  }

  async #run(
    operation: OperationName,
    agent: AgentRecord,
    progress: ProgressSink,
    signal?: AbortSignal,
  ): Promise<OperationResult> {
    const session = new AgentSession(agent, this.pool, this.settings, progress, signal);
    const steps = this.#steps(operation, session);
    const deploying = operation === "deploy" || operation === "deploy_and_start";
    if (deploying)
      await this.inventory.setState(agent.name, "deploying", `${operation} in progress`);
    let current: Step = "connect";
    const messages: string[] = [];
    try {
      for (const [step, work] of steps) {
        if (signal?.aborted) throw new StepError(agent.name, step, "operation cancelled");
        current = step;
        progress({ agent: agent.name, step, status: "started", message: "" });
        const message = await work();
        messages.push(message ? `${step}: ${message}` : step);
        progress({ agent: agent.name, step, status: "succeeded", message });
      }
      await this.inventory.updateStatus(agent.name, { lastFailure: undefined });
      return { agent: agent.name, ok: true, message: messages.join("; ") };
    } catch (error) {
      const failure =
        error instanceof StepError
          ? error
          : new StepError(agent.name, current, (error as Error).message);
      progress({
        agent: agent.name,
        step: failure.step,
        status: "failed",
        message: failure.message,
      });
      await this.inventory.updateStatus(agent.name, { lastFailure: failure.message });
      if (
        failure.step === "connect" &&
        ["unreachable", "timeout"].includes(failure.sshKind ?? "")
      ) {
        await this.inventory.setState(agent.name, "unreachable", failure.message);
      } else {
        await this.inventory.setState(agent.name, "failed", failure.message);
      }
      return { agent: agent.name, ok: false, failedStep: failure.step, message: failure.message };
    } finally {
      await this.hooks.afterOperation(agent.name);
    }
  }

  #steps(operation: OperationName, s: AgentSession): [Step, () => Promise<string>][] {
    const connect: [Step, () => Promise<string>] = ["connect", () => this.#connect(s)];
    const deploy: [Step, () => Promise<string>][] = [
      connect,
      ["clone", () => this.#clone(s)],
      ["install", () => this.#install(s)],
      ["sync_config", () => this.#syncConfig(s)],
    ];
    switch (operation) {
      case "deploy":
        return deploy;
      case "deploy_and_start":
        return [...deploy, ["start", () => this.#start(s)]];
      case "start":
        return [connect, ["start", () => this.#start(s)]];
      case "stop":
        return [connect, ["stop", () => this.#stop(s)]];
      case "restart":
        return [connect, ["stop", () => this.#stop(s)], ["start", () => this.#start(s)]];
      case "sync_config":
        return [connect, ["sync_config", () => this.#syncConfig(s)]];
      case "update_config":
        return [["hot_update", () => this.#hotUpdate(s)]];
      case "uninstall":
        return [connect, ["stop", () => this.#stop(s)], ["uninstall", () => this.#uninstall(s)]];
      case "test":
        return [connect, ["test", () => this.#test(s)]];
    }
  }

  async #connect(s: AgentSession): Promise<string> {
    await s.connect();
    return `connected to ${s.target.user}@${s.target.host}:${s.target.port}`;
  }

  async #clone(s: AgentSession): Promise<string> {
    const { source } = s.agent;
    if (!source.repositoryUrl || !source.ref) {
      throw new StepError(
        s.agent.name,
        "clone",
        "no repository_url and ref configured for this agent",
      );
    }
    const result = await s.run("clone", cloneScript(source));
    return result.stdout.trim().split("\n").pop() ?? "";
  }

  async #install(s: AgentSession): Promise<string> {
    await s.run("install", repoScript(s.dir, s.agent.source.installScript), true);
    return `${s.agent.source.installScript} succeeded${s.agent.sudo ? " (sudo)" : ""}`;
  }

  async #syncConfig(s: AgentSession): Promise<string> {
    const rendered = this.renderFor(s.agent);
    await s.run("sync_config", mkdirScript(s.dir));
    await s.writeFile("sync_config", this.settings.configFile, rendered.toml);
    await this.inventory.updateStatus(s.agent.name, { desiredConfigHash: rendered.hash });
    return `wrote ${s.path(this.settings.configFile)} (config ${rendered.hash}, mode 0600)`;
  }

  async #start(s: AgentSession): Promise<string> {
    await this.inventory.updateStatus(s.agent.name, { expectRunning: true });
    await s.run(
      "start",
      repoScript(s.dir, s.agent.source.runScript, this.settings.configFile),
      true,
    );
    const deadline = Date.now() + this.settings.startTimeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const status = await fetchAgentStatus(
          s.agent.host,
          s.agent.apiPort,
          this.settings.apiTimeoutMs,
        );
        const foreign = foreignAgent(status, s.agent.name, s.agent.apiPort);
        if (foreign) throw new AgentApiError(foreign);
        if (status.config_hash)
          await this.inventory.updateStatus(s.agent.name, {
            appliedConfigHash: status.config_hash,
          });
        return `REST API answering on port ${s.agent.apiPort}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    throw new StepError(
      s.agent.name,
      "start",
      `the run script succeeded but the REST API did not answer within ${this.settings.startTimeoutMs} ms: ${last}`,
    );
  }

  async #stop(s: AgentSession): Promise<string> {
    await this.inventory.updateStatus(s.agent.name, { expectRunning: false });
    await s.run("stop", stopScript(s.dir, s.agent.source.stopScript), true);
    return "stopped";
  }

  async #uninstall(s: AgentSession): Promise<string> {
    await s.run("uninstall", removeScript(s.dir), true);
    await this.inventory.updateStatus(s.agent.name, { appliedConfigHash: "" });
    return `removed ${s.dir}`;
  }

  async #test(s: AgentSession): Promise<string> {
    const result = await s.run(
      "test",
      'printf "%s on %s, user %s" "$(uname -sr)" "$(hostname)" "$(id -un)"; command -v git >/dev/null 2>&1 && printf ", git present"',
    );
    let sudo = "";
    if (s.agent.sudo) {
      await s.run("test", "true", true);
      sudo = ", sudo works";
    }
    return `${result.stdout.trim()}${sudo}`;
  }

  /**
   * Hot update through the agent REST API with the full config JSON; the file on the host is
   * rewritten too, so a later restart keeps the change. When the API does not take it, the
   * fallback is sync_config + restart.
   */
  async #hotUpdate(s: AgentSession): Promise<string> {
    const rendered = this.renderFor(s.agent);
    await this.inventory.updateStatus(s.agent.name, { desiredConfigHash: rendered.hash });
    try {
      // The config carries credentials: make sure the port is this agent's before sending it.
      const current = await fetchAgentStatus(
        s.agent.host,
        s.agent.apiPort,
        this.settings.apiTimeoutMs,
      );
      const foreign = foreignAgent(current, s.agent.name, s.agent.apiPort);
      if (foreign) throw new AgentApiError(foreign);
      const answer = await postConfigUpdate(
        s.agent.host,
        s.agent.apiPort,
        rendered.object,
        this.settings.apiTimeoutMs,
      );
      await s.writeFile("hot_update", this.settings.configFile, rendered.toml);
      await this.inventory.updateStatus(s.agent.name, {
        appliedConfigHash: answer.config_hash ?? rendered.hash,
      });
      return `applied live through the REST API (config ${rendered.hash})`;
    } catch (error) {
      if (!(error instanceof AgentApiError)) throw error;
      await s.connect();
      await this.#syncConfig(s);
      if (!this.inventory.get(s.agent.name).status.expectRunning) {
        return `REST API not answering (${error.message}); config file synced for the next start (config ${rendered.hash})`;
      }
      await this.#stop(s);
      await this.#start(s);
      return `REST API update failed (${error.message}); fell back to sync_config + restart (config ${rendered.hash})`;
    }
  }
}
