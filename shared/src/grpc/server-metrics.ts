import { Counter, Histogram, type Registry } from "prom-client";

/** Call counts and latencies of a gRPC server, by service, method and status code. */
export function grpcServerMetrics(registry: Registry) {
  const handled = new Counter({
    name: "deeptrace_grpc_server_handled_total",
    help: "gRPC calls completed, by status code",
    labelNames: ["grpc_service", "grpc_method", "grpc_code"] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: "deeptrace_grpc_server_handling_seconds",
    help: "gRPC call duration",
    labelNames: ["grpc_service", "grpc_method"] as const,
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [registry],
  });
  return (service: string, method: string, code: string, durationSeconds: number) => {
    handled.inc({ grpc_service: service, grpc_method: method, grpc_code: code });
    seconds.observe({ grpc_service: service, grpc_method: method }, durationSeconds);
  };
}
