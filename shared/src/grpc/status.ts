import { ConnectError } from "@connectrpc/connect";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";

/** The canonical gRPC name of a status code ("PERMISSION_DENIED"), for logs, metrics, audit. */
export function codeName(code: status): string {
  return status[code] ?? `CODE_${code}`;
}

/**
 * The gRPC status for an error thrown by an implementation. ConnectErrors keep their code
 * and message; anything else becomes INTERNAL with a generic message (the cause is logged,
 * not sent, since it may carry details a caller must not see).
 */
export function toServiceError(error: unknown): Partial<ServiceError> & { code: status } {
  const connectError = error instanceof ConnectError ? error : undefined;
  if (connectError) {
    return {
      code: connectError.code as number as status,
      details: connectError.rawMessage,
      metadata: new Metadata(),
    };
  }
  return {
    code: status.INTERNAL,
    details: "internal error (see the server log)",
    metadata: new Metadata(),
  };
}
