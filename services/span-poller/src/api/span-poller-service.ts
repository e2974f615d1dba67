import { Code, ConnectError } from "@connectrpc/connect";
import { SpanPollerService } from "@deeptrace/shared/gen/deeptrace/poller/v1/span_poller_service_pb";
import type { HostedService } from "@deeptrace/shared/grpc/host-service";
import type { SpanPoller } from "../poller.js";

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1_000;

/** The poller's control API. */
export function spanPollerService(poller: SpanPoller): HostedService<typeof SpanPollerService> {
  return {
    service: SpanPollerService,
    roles: {
      getStatus: "viewer",
      pause: "operator",
      resume: "operator",
      replay: "operator",
      listWindows: "viewer",
    },
    implementation: {
      getStatus: () => {
        const s = poller.status();
        return {
          paused: s.paused,
          watermarkNs: s.watermarkNs,
          agents: s.agents.map((a) => ({
            agent: a.agent,
            index: a.index,
            cursorTimeNs: a.cursorTimeNs,
            cursorDocId: a.cursorDocId,
            watermarkNs: a.watermarkNs,
            lagNs: a.lagNs,
            spansPerSecond: a.spansPerSecond,
            lastError: a.lastError,
            clockOffsetNs: a.clockOffsetNs,
          })),
          windowsPublished: s.windowsPublished,
          lateSpans: s.lateSpans,
          repairs: s.repairs,
          lastError: s.lastError,
          inventorySource: s.inventorySource,
          nextWindowStartNs: s.nextWindowStartNs,
        };
      },
      pause: () => ({ paused: poller.setPaused(true) }),
      resume: () => ({ paused: poller.setPaused(false) }),
      replay: async (request) => {
        if (request.endTimeNs <= request.startTimeNs) {
          throw new ConnectError("end_time_ns must be after start_time_ns", Code.InvalidArgument);
        }
        const replayed = await poller.replay(
          request.startTimeNs,
          request.endTimeNs,
          request.agents,
        );
        // window_ids: the JetStream message id of every message, pieces included.
        return { windowsPublished: replayed.windows, windowIds: replayed.msgIds };
      },
      listWindows: async (request) => {
        if (request.pageSize > MAX_PAGE_SIZE) {
          throw new ConnectError(`page_size is at most ${MAX_PAGE_SIZE}`, Code.InvalidArgument);
        }
        if (request.pageToken !== "" && !/^-?\d+$/.test(request.pageToken)) {
          throw new ConnectError("page_token is not one this service issued", Code.InvalidArgument);
        }
        const size = request.pageSize || DEFAULT_PAGE_SIZE;
        const windows = await poller.listWindows({
          fromNs: request.startTimeNs === 0n ? undefined : request.startTimeNs,
          toNs: request.endTimeNs === 0n ? undefined : request.endTimeNs,
          size,
          beforeStartNs: request.pageToken === "" ? undefined : BigInt(request.pageToken),
        });
        const last = windows[windows.length - 1];
        return {
          windows: windows.map((w) => ({
            windowId: w.windowId,
            startNs: w.startNs,
            endNs: w.endNs,
            revision: w.revision,
            spanCount: w.spanCount,
            memberCount: w.memberCount,
            payloadBytes: BigInt(w.payloadBytes),
            publishedAtNs: w.publishedAtNs,
          })),
          nextPageToken: windows.length === size && last ? last.startNs.toString() : "",
        };
      },
    },
  };
}
