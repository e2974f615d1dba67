/**
 * Which adapter a document needs, from its shape:
 *   agent  `{ tag: { ebpf_tag }, metric, content }`   (the agent's Elasticsearch document)
 *   pairs  `{ req, resp }`                            (the raw request/response dump)
 *   flat   `{ tgid, direction, start_time, ... }`     (the upstream flat test document)
 */
import { isObject } from "./document-fields.js";

export type SpanFormat = "agent" | "flat" | "pairs";

export const SPAN_FORMATS: readonly SpanFormat[] = ["agent", "flat", "pairs"];

export function detectFormat(doc: unknown): SpanFormat | undefined {
  if (!isObject(doc)) return undefined;
  if (isObject(doc.tag) && isObject(doc.tag.ebpf_tag)) return "agent";
  if (isObject(doc.req) && isObject(doc.resp)) return "pairs";
  if ("tgid" in doc && "direction" in doc && "start_time" in doc) return "flat";
  return undefined;
}
