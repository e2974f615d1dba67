import { Code, ConnectError } from "@connectrpc/connect";
import {
  InventoryConflictError,
  RegistryUnavailableError,
  UnknownAgentError,
} from "../inventory/inventory.js";

/** Inventory errors as gRPC statuses; anything else passes through unchanged. */
export function toConnectError(error: unknown): unknown {
  if (error instanceof UnknownAgentError) return new ConnectError(error.message, Code.NotFound);
  if (error instanceof InventoryConflictError)
    return new ConnectError(error.message, Code.AlreadyExists);
  if (error instanceof RegistryUnavailableError)
    return new ConnectError(error.message, Code.Unavailable);
  return error;
}

/** Runs `work`, translating inventory errors into gRPC statuses. */
export async function withStatus<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toConnectError(error);
  }
}
