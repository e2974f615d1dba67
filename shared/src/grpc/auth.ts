import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Secret } from "../config/secret.js";

export type Role = "viewer" | "operator" | "admin";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Who made a call. */
export interface Principal {
  /** Token name from the configuration ("anonymous" when auth is off). */
  name: string;
  role: Role;
}

export interface TokenEntry {
  name: string;
  role: Role;
  token: Secret;
}

/**
 * Maps bearer tokens to principals. Tokens are compared by their SHA-256 digests in
 * constant time, and only digests are kept in memory after construction.
 */
export class BearerAuthenticator {
  readonly #entries: { name: string; role: Role; digest: Buffer }[];

  constructor(
    tokens: TokenEntry[],
    readonly enabled: boolean,
  ) {
    this.#entries = tokens.map((t) => ({
      name: t.name,
      role: t.role,
      digest: digest(t.token.reveal()),
    }));
  }

  /** The principal for an `authorization` header value; throws UNAUTHENTICATED otherwise. */
  authenticate(authorization: string | undefined): Principal {
    if (!this.enabled) return { name: "anonymous", role: "admin" };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match?.[1]) {
      throw new ConnectError(
        'missing bearer token (metadata "authorization: Bearer <token>")',
        Code.Unauthenticated,
      );
    }
    const presented = digest(match[1]);
    let found: Principal | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, presented)) found = { name: entry.name, role: entry.role };
    }
    if (!found) throw new ConnectError("unknown bearer token", Code.Unauthenticated);
    return found;
  }
}

/** Throws PERMISSION_DENIED unless the principal's role is at least `required`. */
export function authorize(principal: Principal, required: Role, method: string): void {
  if (RANK[principal.role] < RANK[required]) {
    throw new ConnectError(
      `${method} needs role ${required}; token "${principal.name}" has role ${principal.role}`,
      Code.PermissionDenied,
    );
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
