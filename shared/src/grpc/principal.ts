import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Principal } from "./auth.js";

/** Context key under which the authenticated caller is handed to implementations. */
export const principalKey = createContextKey<Principal>(
  { name: "anonymous", role: "viewer" },
  { description: "authenticated caller" },
);

/** The authenticated caller of the current call. */
export function principalOf(context: HandlerContext): Principal {
  return context.values.get(principalKey);
}
