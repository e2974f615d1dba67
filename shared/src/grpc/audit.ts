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
  /** Short description of the target (e.g. the agent names), supplied by the implementation. */
  target?: string;
}

export type AuditSink = (record: AuditRecord) => void;

export function auditRecord(
  fields: Omit<AuditRecord, "at" | "principal" | "role"> & { principal: Principal },
): AuditRecord {
  const { principal, ...rest } = fields;
  return { at: new Date().toISOString(), principal: principal.name, role: principal.role, ...rest };
}
