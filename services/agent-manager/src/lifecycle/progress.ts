/** Lifecycle steps, as reported in progress events and failed results. */
export type Step =
  | "connect"
  | "clone"
  | "install"
  | "sync_config"
  | "start"
  | "stop"
  | "uninstall"
  | "hot_update"
  | "test"
  | "rollout";

export type ProgressStatus = "started" | "log" | "succeeded" | "failed" | "skipped";

export interface ProgressEvent {
  agent: string;
  step: Step;
  status: ProgressStatus;
  message: string;
}

export type ProgressSink = (event: ProgressEvent) => void;

/** A step that failed; its message names the agent and the step. */
export class StepError extends Error {
  constructor(
    readonly agent: string,
    readonly step: Step,
    detail: string,
    readonly sshKind?: string,
  ) {
    super(`agent ${agent}: ${step} failed: ${detail}`);
    this.name = "StepError";
  }
}
