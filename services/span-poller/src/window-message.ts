import { create, toBinary } from "@bufbuild/protobuf";
import { type Span, SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";

/** Deterministic window id: the same window [t0, t1) always gets the same id. */
export function windowIdFor(startNs: bigint, endNs: bigint): string {
  return `w-${startNs}-${endNs}`;
}

/**
 * JetStream message id of a window revision. Revision 0 uses the window id; a repaired or
 * replayed window needs a new id, or JetStream would de-duplicate it away.
 */
export function messageIdFor(windowId: string, revision: number): string {
  return revision === 0 ? windowId : `${windowId}.r${revision}`;
}

/** Bytes of a window message besides its spans: ids, times, revision, agent names. */
export function windowOverheadBytes(agents: readonly string[]): number {
  return 128 + agents.reduce((sum, a) => sum + a.length + 3, 0);
}

export interface WindowContent {
  windowId: string;
  startNs: bigint;
  endNs: bigint;
  marginNs: bigint;
  revision: number;
  spans: Span[];
  agents: string[];
}

export function encodeWindow(w: WindowContent): Uint8Array {
  return toBinary(
    SpanWindowSchema,
    create(SpanWindowSchema, {
      windowId: w.windowId,
      startNs: w.startNs,
      endNs: w.endNs,
      marginNs: w.marginNs,
      revision: w.revision,
      spans: w.spans,
      agents: w.agents,
    }),
  );
}

/** Spans that are members of [startNs, endNs) (not context). */
export function memberCount(spans: readonly Span[], startNs: bigint, endNs: bigint): number {
  let n = 0;
  for (const s of spans) if (s.startTimeNs >= startNs && s.startTimeNs < endNs) n++;
  return n;
}
