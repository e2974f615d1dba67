/**
 * TCP connections between simulated processes: ephemeral client ports, per-direction TCP
 * sequence numbers (the agent's req_seq/resp_seq, identical on both ends), and keep-alive
 * pools that reuse idle connections (most recently used first) and close the excess.
 */
export interface Connection {
  id: number;
  /** Id of the server process. */
  serverId: number;
  serverIp: string;
  serverPort: number;
  clientIp: string;
  clientPort: number;
  /** Next TCP sequence number client -> server (uint32). */
  reqSeq: number;
  /** Next TCP sequence number server -> client (uint32). */
  respSeq: number;
  /** Server thread bound to the connection (thread-per-connection servers), else null. */
  serverThread: number | null;
  requests: number;
}

const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;

/** Linux-style ephemeral port allocation per client address, skipping ports in use. */
export class PortAllocator {
  private readonly next = new Map<string, number>();
  private readonly inUse = new Map<string, Set<number>>();

  allocate(ip: string, start: number): number {
    let used = this.inUse.get(ip);
    if (!used) {
      used = new Set();
      this.inUse.set(ip, used);
    }
    if (used.size >= EPHEMERAL_HIGH - EPHEMERAL_LOW + 1) {
      throw new Error(`ephemeral ports exhausted on ${ip}`);
    }
    let port = this.next.get(ip) ?? start;
    while (used.has(port)) port = port >= EPHEMERAL_HIGH ? EPHEMERAL_LOW : port + 1;
    used.add(port);
    this.next.set(ip, port >= EPHEMERAL_HIGH ? EPHEMERAL_LOW : port + 1);
    return port;
  }

  release(ip: string, port: number): void {
    this.inUse.get(ip)?.delete(port);
  }

  static randomStart(uint32: number): number {
    return EPHEMERAL_LOW + (uint32 % (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1));
  }
}

/** Idle keep-alive connections from one process to one target instance. */
export class ConnectionPool {
  private readonly idle: Connection[] = [];
  opened = 0;

  constructor(readonly maxIdle: number) {}

  /** The most recently released idle connection, or undefined when a dial is needed. */
  acquire(): Connection | undefined {
    return this.idle.pop();
  }

  /** Returns the connection to the pool; false when it must be closed instead. */
  release(conn: Connection): boolean {
    if (this.idle.length >= this.maxIdle) return false;
    this.idle.push(conn);
    return true;
  }
}

/** Advances a uint32 sequence number by a byte count. */
export function advanceSeq(seq: number, bytes: number): number {
  return (seq + bytes) >>> 0;
}
