import { Code, ConnectError } from "@connectrpc/connect";
import { isTransientRequestError } from "@deeptrace/shared/elastic/bulk-writer";
import {
  Algorithm as AlgorithmEnum,
  TraceAssemblerService,
} from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_assembler_service_pb";
import type { HostedService } from "@deeptrace/shared/grpc/host-service";
import type { Algorithm } from "../engine/assemble.js";
import { InvalidPageTokenError, type TraceQueries } from "../query/trace-queries.js";
import { assembleRequestSpans, type WindowSettings } from "../windows/window-processor.js";

export interface StatsSnapshot {
  windowsProcessed: bigint;
  spansProcessed: bigint;
  spansPerSecond: number;
  tracesWritten: bigint;
  redeliveries: bigint;
  deadLetters: bigint;
  pendingWindows: bigint;
  lagNs: bigint;
}

export interface TraceAssemblerApiDependencies {
  queries: TraceQueries;
  settings: WindowSettings;
  maxPageSize: number;
  stats: () => Promise<StatsSnapshot>;
}

const DEFAULT_PAGE_SIZE = 50;

/** The trace query and assembly API. */
export function traceAssemblerService(
  deps: TraceAssemblerApiDependencies,
): HostedService<typeof TraceAssemblerService> {
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
      getTrace: async (request) => {
        if (!request.traceId) {
          throw new ConnectError("trace_id is required", Code.InvalidArgument);
        }
        const trace = await elastic(() => deps.queries.getTrace(request.traceId));
        if (!trace) throw new ConnectError(`trace ${request.traceId} not found`, Code.NotFound);
        return { trace };
      },
      searchTraces: async (request) => {
        checkRange(request.startTimeNs, request.endTimeNs);
        if (request.minDurationNs < 0n) {
          throw new ConnectError("min_duration_ns must not be negative", Code.InvalidArgument);
        }
        if (!["", "ok", "error"].includes(request.status)) {
          throw new ConnectError(
            `status must be "ok", "error" or empty, not ${JSON.stringify(request.status)}`,
            Code.InvalidArgument,
          );
        }
        if (request.pageSize > deps.maxPageSize) {
          throw new ConnectError(
            `page_size ${request.pageSize} is above the limit ${deps.maxPageSize}`,
            Code.InvalidArgument,
          );
        }
        try {
          return await elastic(() =>
            deps.queries.searchTraces({
              ...request,
              pageSize: request.pageSize || DEFAULT_PAGE_SIZE,
            }),
          );
        } catch (error) {
          if (error instanceof InvalidPageTokenError) {
            throw new ConnectError(error.message, Code.InvalidArgument);
          }
          throw error;
        }
      },
      getServiceGraph: async (request) => {
        checkRange(request.startTimeNs, request.endTimeNs);
        return {
          graph: await elastic(() =>
            deps.queries.getServiceGraph(request.startTimeNs, request.endTimeNs),
          ),
        };
      },
      assembleSpans: (request) => {
        const hasWindow = request.windowStartNs !== 0n || request.windowEndNs !== 0n;
        if (hasWindow && request.windowEndNs <= request.windowStartNs) {
          throw new ConnectError(
            "window_end_ns must be after window_start_ns (or both 0 for no window)",
            Code.InvalidArgument,
          );
        }
        const ids = new Set<string>();
        for (const span of request.spans) {
          if (!span.spanId)
            throw new ConnectError("every span needs a span_id", Code.InvalidArgument);
          if (ids.has(span.spanId)) {
            throw new ConnectError(`span_id ${span.spanId} appears twice`, Code.InvalidArgument);
          }
          ids.add(span.spanId);
        }
        const settings = {
          ...deps.settings,
          algorithm: algorithmOf(request.algorithm, deps.settings.algorithm),
        };
        return assembleRequestSpans(
          request.spans,
          settings,
          hasWindow ? { startNs: request.windowStartNs, endNs: request.windowEndNs } : undefined,
        );
      },
      getStats: async () => deps.stats(),
    },
  };
}

/** Runs a query; Elasticsearch being unreachable or overloaded becomes UNAVAILABLE. */
async function elastic<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (isTransientRequestError(error)) {
      throw new ConnectError(
        `Elasticsearch unavailable: ${(error as Error).message}`,
        Code.Unavailable,
      );
    }
    throw error;
  }
}

function checkRange(start: bigint, end: bigint): void {
  if (start < 0n || end < 0n) {
    throw new ConnectError("times must not be negative", Code.InvalidArgument);
  }
  if (start > 0n && end > 0n && end <= start) {
    throw new ConnectError("end_time_ns must be after start_time_ns", Code.InvalidArgument);
  }
}

function algorithmOf(value: AlgorithmEnum, fallback: Algorithm): Algorithm {
  if (value === AlgorithmEnum.FIFO) return "fifo";
  if (value === AlgorithmEnum.DEEPTRACE) return "deeptrace";
  return fallback;
}
