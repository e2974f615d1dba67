import type { DescMessage } from "@bufbuild/protobuf";
import type { Principal } from "./auth.js";

/** One record per mutating call, successful or not. Holds no request payload. */
export interface AuditRecord {
  at: string;
  service: string;
  method: string;
  principal: string;
  role: string;
  peer: string;
  /** gRPC status code name, "OK" on success. */
  outcome: string;
  durationMs: number;
  /** What the call acted on (agent names or selector, trace, time range), from the request. */
  target?: string;
}

export type AuditSink = (record: AuditRecord) => void;

export function auditRecord(
  fields: Omit<AuditRecord, "at" | "principal" | "role"> & { principal: Principal },
): AuditRecord {
  const { principal, ...rest } = fields;
  return { at: new Date().toISOString(), principal: principal.name, role: principal.role, ...rest };
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
const texts = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
const nonZero = (value: unknown): value is bigint => typeof value === "bigint" && value !== 0n;

/**
 * What a call acts on, read from its request by the fields DeepTrace's services use for it:
 * `name`, `agent.name`, an agent `selector` (names and labels; empty is every agent),
 * `agents`, `trace_id` and a time range. Identifiers only: never payloads, configs or secrets.
 */
export function auditTarget(request: unknown, input: DescMessage): string | undefined {
  if (typeof request !== "object" || request === null) return undefined;
  const r = request as Record<string, unknown>;
  const parts: string[] = [];
  const name = text(r.name) ?? text((r.agent as Record<string, unknown> | undefined)?.name);
  if (name) parts.push(`agent=${name}`);
  // An unset selector selects like an empty one: every agent.
  if (input.fields.some((f) => f.localName === "selector")) {
    const selector = (r.selector ?? {}) as { names?: unknown; labels?: unknown };
    const names = texts(selector.names);
    const labels = Object.entries((selector.labels ?? {}) as Record<string, unknown>).map(
      ([k, v]) => `${k}=${String(v)}`,
    );
    if (names.length > 0) parts.push(`agents=${names.join(",")}`);
    if (labels.length > 0) parts.push(`labels=${labels.sort().join(",")}`);
    if (names.length === 0 && labels.length === 0) parts.push("agents=all");
  }
  const agents = texts(r.agents);
  if (agents.length > 0) parts.push(`agents=${agents.join(",")}`);
  const trace = text(r.traceId);
  if (trace) parts.push(`trace=${trace}`);
  if (nonZero(r.startTimeNs) || nonZero(r.endTimeNs)) {
    parts.push(`range=[${String(r.startTimeNs ?? 0n)},${String(r.endTimeNs ?? 0n)})`);
  }
  return parts.length > 0 ? parts.join(" ") : undefined;
}
