import { Code, ConnectError } from "@connectrpc/connect";

/** The error for an RPC that is part of the contract but not served by this build yet. */
export function unimplemented(method: string): ConnectError {
  return new ConnectError(`${method} is not implemented in this version`, Code.Unimplemented);
}
