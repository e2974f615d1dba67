import { SpanPollerService } from "@deeptrace/shared/gen/deeptrace/poller/v1/span_poller_service_pb";
import type { HostedService } from "@deeptrace/shared/grpc/host-service";
import { unimplemented } from "@deeptrace/shared/grpc/unimplemented";

/** The poller's control API. */
export function spanPollerService(): HostedService<typeof SpanPollerService> {
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
        throw unimplemented("GetStatus");
      },
      pause: () => {
        throw unimplemented("Pause");
      },
      resume: () => {
        throw unimplemented("Resume");
      },
      replay: () => {
        throw unimplemented("Replay");
      },
      listWindows: () => {
        throw unimplemented("ListWindows");
      },
    },
  };
}
