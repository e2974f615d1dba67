import { TraceAssemblerService } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_assembler_service_pb";
import type { HostedService } from "@deeptrace/shared/grpc/host-service";
import { unimplemented } from "@deeptrace/shared/grpc/unimplemented";

/** The trace query and assembly API. */
export function traceAssemblerService(): HostedService<typeof TraceAssemblerService> {
  return {
    service: TraceAssemblerService,
    roles: {
      getTrace: "viewer",
      searchTraces: "viewer",
      getServiceGraph: "viewer",
      assembleSpans: "viewer",
      getStats: "viewer",
    },
    implementation: {
      getTrace: () => {
        throw unimplemented("GetTrace");
      },
      searchTraces: () => {
        throw unimplemented("SearchTraces");
      },
      getServiceGraph: () => {
        throw unimplemented("GetServiceGraph");
      },
      assembleSpans: () => {
        throw unimplemented("AssembleSpans");
      },
      getStats: () => {
        throw unimplemented("GetStats");
      },
    },
  };
}
