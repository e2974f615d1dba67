import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error no type declarations for the emulator's .mjs modules
import { documentFromPair, loadDataset } from "../../../tools/agent-emulator/lib/dataset.mjs";

const side = (direction: string, ts: number, payload: string) => ({
  tgid: 10,
  pid: 11,
  enter_seq: 5,
  timestamp_ns: ts,
  quintuple: {
    src_addr: 0xc0a80004,
    dst_addr: 0xc0a80001,
    src_port: 40000,
    dst_port: 5000,
    l4_protocol: "IPPROTO_TCP",
  },
  direction,
  comm: "main\u0000\u0000",
  payload,
  protocol: "HTTP1",
});

describe("the emulator's dataset", () => {
  it("turns an Egress pair into the agent document with the server side as src_*", () => {
    const doc = documentFromPair({
      req: side("Egress", 1_000, "GET / HTTP/1.1\r\n\r\n"),
      resp: side("Ingress", 4_000, "HTTP/1.1 200 OK\r\n\r\n"),
    });
    expect(doc.tag.ebpf_tag).toMatchObject({
      component: "main",
      direction: "Egress",
      src_ip: "192.168.0.1",
      src_port: 5000,
      dst_ip: "192.168.0.4",
      dst_port: 40000,
    });
    expect(doc.metric).toEqual({
      start_time: 1_000,
      end_time: 4_000,
      duration: 3_000,
      req_size: 18,
      resp_size: 19,
    });
    expect(doc.tag.docker_tag).toBeNull();
  });

  it("keeps an Ingress pair's local end as the server", () => {
    const doc = documentFromPair({ req: side("Ingress", 1, "a"), resp: side("Egress", 2, "b") });
    expect([doc.tag.ebpf_tag.src_ip, doc.tag.ebpf_tag.src_port]).toEqual(["192.168.0.4", 40000]);
  });

  it("reads the generator's ndjson with its ids, optionally one source index, sorted by start time", () => {
    const dir = mkdtempSync(join(tmpdir(), "emu-data-"));
    const file = join(dir, "spans.ndjson");
    const line = (index: string, start: number) =>
      JSON.stringify({ index, id: `${index}-${start}`, doc: { metric: { start_time: start } } });
    writeFileSync(file, `${line("spans_a", 30)}\n${line("spans_b", 10)}\n${line("spans_a", 20)}\n`);
    expect(
      loadDataset(file).map((e: { id: string; doc: { metric: { start_time: number } } }) => [
        e.id,
        e.doc.metric.start_time,
      ]),
    ).toEqual([
      ["spans_b-10", 10],
      ["spans_a-20", 20],
      ["spans_a-30", 30],
    ]);
    expect(loadDataset(file, "spans_a")).toHaveLength(2);
    expect(() => loadDataset(file, "spans_c")).toThrow(/no spans to replay/);
  });
});
