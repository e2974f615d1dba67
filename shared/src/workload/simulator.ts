import { createHash } from "node:crypto";
import type { AgentDirection, AgentDocument, AgentProtocol, SpanLine } from "./agent-document.js";
import { advanceSeq, type Connection, ConnectionPool, PortAllocator } from "./connections.js";
import { EventQueue } from "./event-queue.js";
import type { GroundTruthLine, SpanRef } from "./ground-truth.js";
import { createHosts, type Host, monotonic } from "./hosts.js";
import type { WorkloadOptions } from "./options.js";
import {
  agentText,
  captured,
  dnsAnswer,
  dnsQuery,
  httpDate,
  httpRequest,
  httpResponse,
  mysqlOk,
  mysqlQuery,
  mysqlResultSet,
  type Payload,
  redisArray,
  redisBulk,
  redisCommand,
} from "./payloads.js";
import { type Process, placeProcesses } from "./processes.js";
import { Rng } from "./rng.js";
import {
  buildTopology,
  type CallSpec,
  type EntryPoint,
  type Field,
  type Language,
  type Step,
  type Topology,
  validateTopology,
} from "./topology.js";

/** One generated span: the document line and its ground truth. */
export interface WorkloadSpan {
  line: SpanLine;
  truth: GroundTruthLine;
}

export interface WorkloadStats {
  spans: number;
  spansByAgent: Record<string, number>;
  spansByProtocol: Record<string, number>;
  requestsStarted: number;
  requestsCompleted: number;
  healthChecks: number;
  dnsLookups: number;
  connectionsOpened: number;
  /** Requests in flight as the load generator saw them (sent, response not yet received). */
  inFlight: { target: number; max: number; mean: number };
  /** Simulated time from the start to the last response, in ns. */
  simulatedNs: number;
}

/** The end-to-end request a span belongs to, with its transaction field values. */
interface RequestContext {
  traceId: string;
  userId: number;
  orderId: number;
  session: string;
  amount: string;
  items: number[];
}

/** A process serving one request (one Ingress span). */
interface Handling {
  req: RequestContext;
  proc: Process;
  ingress: SpanRef;
  thread: number;
  itemId: number;
}

/** What both ends of one request/response exchange see alike. */
interface Exchange {
  protocol: AgentProtocol;
  serverIp: string;
  serverPort: number;
  clientIp: string;
  clientPort: number;
  reqSeq: number;
  respSeq: number;
  req: Payload;
  resp: Payload;
  traceId: string;
}

const LOAD_GENERATOR_IP = "10.0.250.10";
const ENTRY_FIELDS: Field[] = ["user_id", "order_id", "item_id"];

function userAgentOf(language: Language | null): string {
  switch (language) {
    case "go":
      return "Go-http-client/1.1";
    case "java":
      return "Java-http-client/17.0.9";
    case "python":
      return "python-requests/2.31.0";
    case "node":
      return "axios/1.6.8";
    default:
      return "k6/0.49.0 (https://k6.io/)";
  }
}

/** Bytes of a binary protocol as the agent stores them: lossy text, wire size. */
function binary(wire: string, max: number): Payload {
  return { text: agentText(wire.length > max ? wire.slice(0, max) : wire), size: wire.length };
}

/**
 * Discrete-event simulation of microservice traffic as eBPF agents capture it. Requests
 * enter from a load generator (closed loop with `concurrency` clients, or Poisson arrivals
 * at `rate` capped at `concurrency`), run the topology's handlers with processing delays,
 * keep-alive connection pools, DNS lookups on dial, thread pools and network latency, and
 * every request/response pair seen by a traced process becomes one agent document.
 *
 * Spans are produced in the order they complete (as the agents would write them), and only
 * the state of requests in flight is held in memory.
 */
export class Simulation {
  readonly options: WorkloadOptions;
  readonly topology: Topology;
  readonly hosts: Host[];
  readonly processes: Process[];
  readonly startWallNs: bigint;
  readonly stats: WorkloadStats;

  private readonly q = new EventQueue();
  private readonly rng: Rng;
  private readonly noise: Rng;
  private lastActivity = 0;
  private readonly ports = new PortAllocator();
  private readonly byService = new Map<string, Process[]>();
  private readonly seedTag: string;
  private out: WorkloadSpan[] = [];
  private nextConnectionId = 0;
  private issued = 0;
  private inFlight = 0;
  private inFlightArea = 0;
  private inFlightSince = 0;
  private inFlightAreaAtLastIssue = 0;
  private lastIssueAt = 0;
  private pendingArrivals = 0;
  private readonly freeSlots: number[] = [];
  private readonly slotConnections: Map<string, Connection>[] = [];
  private dateSecond = -1;
  private dateText = "";
  private started = false;

  constructor(options: WorkloadOptions) {
    this.options = options;
    this.topology = buildTopology(options.topology);
    validateTopology(this.topology);
    this.seedTag = String(options.seed);
    this.startWallNs = BigInt(Date.parse(options.startTime)) * 1_000_000n;
    const setup = Rng.derive(options.seed, "setup");
    this.hosts = createHosts(options.hosts, this.startWallNs, options.clockOffsetErrorUs, setup);
    this.processes = placeProcesses(this.topology, this.hosts, options.replicas, setup);
    for (const p of this.processes) {
      const list = this.byService.get(p.service.name) ?? [];
      list.push(p);
      this.byService.set(p.service.name, list);
    }
    this.rng = Rng.derive(options.seed, "traffic");
    this.noise = Rng.derive(options.seed, "noise");
    this.stats = {
      spans: 0,
      spansByAgent: Object.fromEntries(this.hosts.map((h) => [h.agent, 0])),
      spansByProtocol: {},
      requestsStarted: 0,
      requestsCompleted: 0,
      healthChecks: 0,
      dnsLookups: 0,
      connectionsOpened: 0,
      inFlight: { target: options.concurrency, max: 0, mean: 0 },
      simulatedNs: 0,
    };
  }

  /** Runs the simulation, yielding spans as they complete. Can be iterated once. */
  *run(): Generator<WorkloadSpan> {
    if (this.started) throw new Error("a Simulation runs once");
    this.started = true;
    this.start();
    while (this.q.runNext()) {
      if (this.out.length > 0) {
        const batch = this.out;
        this.out = [];
        yield* batch;
      }
    }
    this.stats.simulatedNs = this.lastActivity;
    // Mean over the sending phase (up to the last request sent), not the final drain.
    this.stats.inFlight.mean =
      this.lastIssueAt > 0 ? this.inFlightAreaAtLastIssue / this.lastIssueAt : 0;
  }

  // ---- load generation -------------------------------------------------------------

  private issuing(): boolean {
    const o = this.options;
    if (o.requests !== null && this.issued >= o.requests) return false;
    if (o.durationSec !== null && this.q.now >= o.durationSec * 1e9) return false;
    return true;
  }

  private start(): void {
    const o = this.options;
    for (let s = 0; s < o.concurrency; s++) this.slotConnections.push(new Map());
    if (o.rate === null) {
      // Clients start within the first 5 ms so they are not synchronised.
      for (let s = 0; s < o.concurrency; s++) {
        this.q.at(Math.round(this.rng.uniform(0, 5e6)), () => this.clientSend(s));
      }
    } else {
      for (let s = o.concurrency - 1; s >= 0; s--) this.freeSlots.push(s);
      this.scheduleArrival();
    }
    if (o.healthCheckIntervalMs > 0) {
      const interval = o.healthCheckIntervalMs * 1e6;
      for (const p of this.processes) {
        if (p.service.kind !== "http") continue;
        this.q.at(Math.round(this.rng.uniform(0, interval)), () => this.healthCheck(p, interval));
      }
    }
  }

  private clientSend(slot: number): void {
    if (!this.issuing()) return;
    this.issued++;
    this.startRequest(slot);
  }

  private scheduleArrival(): void {
    const rate = this.options.rate ?? 1;
    this.q.after(this.rng.exp(1e9 / rate), () => {
      if (!this.issuing()) return;
      this.issued++;
      const slot = this.freeSlots.pop();
      if (slot === undefined) this.pendingArrivals++;
      else this.startRequest(slot);
      this.scheduleArrival();
    });
  }

  private requestDone(slot: number): void {
    if (this.options.rate === null) {
      const think =
        this.options.thinkTimeUs > 0 ? this.rng.exp(this.options.thinkTimeUs * 1000) : 0;
      this.q.after(think, () => this.clientSend(slot));
    } else if (this.pendingArrivals > 0) {
      this.pendingArrivals--;
      this.startRequest(slot);
    } else {
      this.freeSlots.push(slot);
    }
  }

  private changeInFlight(delta: number): void {
    const now = this.q.now;
    this.inFlightArea += this.inFlight * (now - this.inFlightSince);
    this.inFlightSince = now;
    this.inFlight += delta;
    if (this.inFlight > this.stats.inFlight.max) this.stats.inFlight.max = this.inFlight;
    if (delta > 0) {
      this.lastIssueAt = now;
      this.inFlightAreaAtLastIssue = this.inFlightArea;
    }
  }

  private pickEntry(): EntryPoint {
    const entries = this.topology.entries;
    if (entries.length === 1) return entries[0] as EntryPoint;
    const total = entries.reduce((a, e) => a + e.weight, 0);
    let x = this.rng.next() * total;
    for (const e of entries) {
      x -= e.weight;
      if (x < 0) return e;
    }
    return entries[entries.length - 1] as EntryPoint;
  }

  private newRequest(): RequestContext {
    const r = this.rng;
    const n = r.int(1, 5);
    const items: number[] = [];
    for (let i = 0; i < n; i++) items.push(r.int(1, 50_000));
    return {
      traceId: r.uuid(),
      userId: r.int(1, 200_000),
      orderId: r.int(1_000_000, 9_999_999),
      session: r.hex(24),
      amount: (r.int(100, 50_000) / 100).toFixed(2),
      items,
    };
  }

  private startRequest(slot: number): void {
    const entry = this.pickEntry();
    const req = this.newRequest();
    this.stats.requestsStarted++;
    this.changeInFlight(1);
    const instances = this.byService.get(entry.service) ?? [];
    const connections = this.slotConnections[slot] as Map<string, Connection>;
    let conn = connections.get(entry.service);
    if (!conn) {
      const target = instances[slot % instances.length] as Process;
      conn = this.openConnection(LOAD_GENERATOR_IP, target);
      connections.set(entry.service, conn);
    }
    const target = this.processes[conn.serverId] as Process;
    this.httpExchange(
      null,
      false,
      conn,
      target,
      entry.operation,
      ENTRY_FIELDS,
      req,
      req.items[0] ?? 0,
      () => {
        this.stats.requestsCompleted++;
        this.lastActivity = this.q.now;
        this.changeInFlight(-1);
        this.requestDone(slot);
      },
    );
  }

  /** Docker HEALTHCHECK-style probe: a new loopback connection, one root span, no children. */
  private healthCheck(p: Process, interval: number): void {
    if (!this.issuing()) return;
    this.stats.healthChecks++;
    const r = this.rng;
    const ref = this.newRef(p.host);
    const start = this.q.now;
    const thread = p.threads.serving();
    const clientPort = PortAllocator.randomStart(r.uint32());
    const req = captured(
      httpRequest({
        method: "GET",
        target: "/healthz",
        host: `localhost:${p.port}`,
        userAgent: "curl/8.5.0",
        requestId: null,
        body: null,
      }),
      this.options.maxPayloadBytes,
    );
    const traceId = r.uuid();
    this.q.after(r.lognormal(40_000, 0.4), () => {
      p.threads.releaseServing(thread);
      const resp = captured(
        httpResponse(200, this.date(), '{"status":"UP"}'),
        this.options.maxPayloadBytes,
      );
      const x: Exchange = {
        protocol: "HTTP1",
        serverIp: "127.0.0.1",
        serverPort: p.port,
        clientIp: "127.0.0.1",
        clientPort,
        reqSeq: r.uint32(),
        respSeq: r.uint32(),
        req,
        resp,
        traceId,
      };
      this.emit(x, p, ref, thread, "Ingress", start, this.q.now, null);
    });
    this.q.after(interval, () => this.healthCheck(p, interval));
  }

  // ---- handlers ---------------------------------------------------------------------

  private runSteps(h: Handling, steps: Step[], i: number, done: () => void): void {
    const step = steps[i];
    if (step === undefined) {
      done();
      return;
    }
    const next = (): void => this.runSteps(h, steps, i + 1, done);
    switch (step.kind) {
      case "work":
        this.q.after(this.rng.lognormal(step.delay.medianUs * 1000, step.delay.sigma), next);
        return;
      case "call":
        this.call(h, step.call, false, next);
        return;
      case "parallel": {
        let remaining = step.calls.length;
        if (remaining === 0) {
          next();
          return;
        }
        const joined = (): void => {
          remaining--;
          if (remaining === 0) next();
        };
        let offset = 0;
        for (const call of step.calls) {
          // Spawning goroutines/tasks takes a few microseconds each.
          this.q.after(offset, () => this.call(h, call, true, joined));
          offset += this.rng.uniform(2_000, 12_000);
        }
        return;
      }
      case "each-item": {
        const items = h.req.items;
        const loop = (k: number): void => {
          const item = items[k];
          if (item === undefined) {
            next();
            return;
          }
          this.runSteps({ ...h, itemId: item }, step.body, 0, () => loop(k + 1));
        };
        loop(0);
        return;
      }
      case "cache-aside": {
        const key = this.expand(h, step.key);
        const hit = this.rng.chance(step.hitRatio);
        const redisGet: CallSpec = { protocol: "Redis", service: step.cache, command: "GET", key };
        this.call(
          h,
          redisGet,
          false,
          () => {
            if (hit) {
              next();
              return;
            }
            const select: CallSpec = {
              protocol: "MySQL",
              service: step.db,
              statement: "SELECT",
              table: step.table,
              field: step.field,
            };
            this.call(
              h,
              select,
              false,
              () => {
                const set: CallSpec = {
                  protocol: "Redis",
                  service: step.cache,
                  command: "SET",
                  key,
                };
                this.call(h, set, false, next);
              },
              { hit },
            );
          },
          { hit },
        );
        return;
      }
    }
  }

  private field(h: Handling, field: Field): string {
    // A separate stream, so turning fields off changes payloads but not the traffic.
    if (!this.options.transactionFields) return String(this.noise.int(1, 16));
    switch (field) {
      case "user_id":
        return String(h.req.userId);
      case "order_id":
        return String(h.req.orderId);
      case "item_id":
        return String(h.itemId);
      case "session":
        return h.req.session;
      case "amount":
        return h.req.amount;
    }
  }

  /** Fills `{field}` placeholders (keys already expanded are left as they are). */
  private expand(h: Handling, template: string): string {
    return template.replace(/\{(\w+)\}/g, (_m, name: string) => this.field(h, name as Field));
  }

  private call(
    h: Handling,
    spec: CallSpec,
    parallel: boolean,
    done: () => void,
    cache?: { hit: boolean },
  ): void {
    const instances = this.byService.get(spec.service) ?? [];
    const target = (instances.length === 1 ? instances[0] : this.rng.pick(instances)) as Process;
    const thread = h.proc.threads.calling(h.thread, parallel);
    this.withConnection(h, thread, target, (conn) => {
      const finish = (): void => {
        this.releaseConnection(h.proc, target, conn);
        done();
      };
      switch (spec.protocol) {
        case "HTTP1":
          this.httpExchange(
            h,
            parallel,
            conn,
            target,
            spec.operation,
            spec.fields,
            h.req,
            h.itemId,
            finish,
            thread,
          );
          return;
        case "Redis":
          this.redisExchange(h, thread, conn, target, spec, cache?.hit ?? true, finish);
          return;
        case "MySQL":
          this.mysqlExchange(h, thread, conn, target, spec, finish);
          return;
      }
    });
  }

  // ---- connections ------------------------------------------------------------------

  private openConnection(clientIp: string, target: Process): Connection {
    const r = this.rng;
    this.stats.connectionsOpened++;
    return {
      id: this.nextConnectionId++,
      serverId: target.id,
      serverIp: target.ip,
      serverPort: target.port,
      clientIp,
      clientPort: this.ports.allocate(clientIp, PortAllocator.randomStart(r.uint32())),
      reqSeq: r.uint32(),
      respSeq: r.uint32(),
      serverThread:
        target.threads.model === "per-connection" ? target.threads.acquireWorker() : null,
      requests: 0,
    };
  }

  /** An idle keep-alive connection, or a dial: DNS lookup of the target, then a TCP handshake. */
  private withConnection(
    h: Handling,
    thread: number,
    target: Process,
    use: (conn: Connection) => void,
  ): void {
    let pool = h.proc.pools.get(target.id);
    if (!pool) {
      pool = new ConnectionPool(this.options.maxIdlePerTarget);
      h.proc.pools.set(target.id, pool);
    }
    const idle = pool.acquire();
    if (idle) {
      use(idle);
      return;
    }
    pool.opened++;
    this.dnsLookup(h, thread, target, () => {
      const rtt = this.latency(h.proc.host, target.host) + this.latency(target.host, h.proc.host);
      this.q.after(rtt, () => use(this.openConnection(h.proc.ip, target)));
    });
  }

  private releaseConnection(owner: Process, target: Process, conn: Connection): void {
    const pool = owner.pools.get(target.id);
    if (pool?.release(conn)) return;
    this.ports.release(conn.clientIp, conn.clientPort);
    if (conn.serverThread !== null) target.threads.releaseWorker(conn.serverThread);
  }

  private dnsLookup(h: Handling, thread: number, target: Process, done: () => void): void {
    const r = this.rng;
    this.stats.dnsLookups++;
    const ref = this.newRef(h.proc.host);
    const start = this.q.now;
    const id = r.int(0, 65_535);
    const name = target.service.containerized
      ? target.service.name
      : `${target.service.name}.internal`;
    const max = this.options.maxPayloadBytes;
    const req = binary(dnsQuery(id, name), max);
    const resp = binary(dnsAnswer(id, name, target.ip, 600), max);
    const clientPort = PortAllocator.randomStart(r.uint32());
    this.q.after(r.lognormal(250_000, 0.5), () => {
      const x: Exchange = {
        protocol: "DNS",
        serverIp: h.proc.resolverIp,
        serverPort: 53,
        clientIp: "127.0.0.1",
        clientPort,
        reqSeq: 0,
        respSeq: 0,
        req,
        resp,
        traceId: h.req.traceId,
      };
      this.emit(x, h.proc, ref, thread, "Egress", start, this.q.now, h.ingress);
      done();
    });
  }

  /** One-way network latency in ns; null is the external load generator. */
  private latency(from: Host | null, to: Host | null): number {
    const base = this.options.networkLatencyUs * 1000;
    if (from === null || to === null) return this.rng.lognormal(base, 0.3);
    if (from === to) return this.rng.lognormal(30_000, 0.3);
    return this.rng.lognormal(base, 0.3);
  }

  // ---- exchanges --------------------------------------------------------------------

  private httpExchange(
    caller: Handling | null,
    parallel: boolean,
    conn: Connection,
    target: Process,
    operation: string,
    fields: Field[],
    req: RequestContext,
    itemId: number,
    done: () => void,
    callerThread?: number,
  ): void {
    const op = target.service.operations[operation];
    if (!op) throw new Error(`unknown operation ${target.service.name}.${operation}`);
    const o = this.options;
    const callerHost = caller?.proc.host ?? null;
    const sentAt = this.q.now;
    const egressRef = caller ? this.newRef(caller.proc.host) : null;
    const egressThread = caller
      ? (callerThread ?? caller.proc.threads.calling(caller.thread, parallel))
      : 0;
    const values = caller ?? {
      req,
      itemId,
      proc: target,
      ingress: { index: "", docId: "" },
      thread: 0,
    };
    const pairs = fields.map((f) => [f, this.field(values, f)] as const);
    let target_ = op.path;
    let body: string | null = null;
    if (op.method === "GET") {
      if (o.transactionFields && pairs.length > 0)
        target_ += `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`;
    } else if (o.transactionFields) {
      const obj: Record<string, string | number | number[]> = {};
      for (const [k, v] of pairs) obj[k] = k === "session" || k === "amount" ? v : Number(v);
      if (caller === null) obj.items = req.items;
      body = JSON.stringify(obj);
    } else {
      body = '{"channel":"web","currency":"EUR"}';
    }
    const reqPayload = captured(
      httpRequest({
        method: op.method,
        target: target_,
        host: caller === null ? "shop.example.com" : `${target.service.name}:${target.port}`,
        userAgent: userAgentOf(caller?.proc.service.language ?? null),
        requestId: o.requestIdHeader ? req.traceId : null,
        body,
      }),
      o.maxPayloadBytes,
    );
    const reqSeq = conn.reqSeq;
    conn.reqSeq = advanceSeq(conn.reqSeq, reqPayload.size);
    conn.requests++;
    this.q.after(this.latency(callerHost, target.host), () => {
      const ingressRef = this.newRef(target.host);
      const start = this.q.now;
      const thread = target.threads.serving();
      const handling: Handling = { req, proc: target, ingress: ingressRef, thread, itemId };
      this.runSteps(handling, op.steps, 0, () => {
        target.threads.releaseServing(thread);
        const failed = this.rng.chance(0.002);
        const status = failed ? 503 : op.method === "GET" ? 200 : 201;
        const out: Record<string, string> = {};
        if (o.requestIdHeader) out.request_id = req.traceId;
        if (o.transactionFields) for (const [k, v] of pairs) if (k !== "session") out[k] = v;
        out.status = failed ? "unavailable" : "ok";
        const resp = captured(
          httpResponse(status, this.date(), JSON.stringify(out)),
          o.maxPayloadBytes,
        );
        const respSeq = conn.respSeq;
        conn.respSeq = advanceSeq(conn.respSeq, resp.size);
        const x: Exchange = {
          protocol: "HTTP1",
          serverIp: conn.serverIp,
          serverPort: conn.serverPort,
          clientIp: conn.clientIp,
          clientPort: conn.clientPort,
          reqSeq,
          respSeq,
          req: reqPayload,
          resp,
          traceId: req.traceId,
        };
        this.emit(x, target, ingressRef, thread, "Ingress", start, this.q.now, egressRef);
        this.q.after(this.latency(target.host, callerHost), () => {
          if (caller && egressRef) {
            this.emit(
              x,
              caller.proc,
              egressRef,
              egressThread,
              "Egress",
              sentAt,
              this.q.now,
              caller.ingress,
            );
          }
          done();
        });
      });
    });
  }

  /** A request to a Redis or MySQL server: the server answers after its processing delay. */
  private serverExchange(
    h: Handling,
    thread: number,
    conn: Connection,
    target: Process,
    protocol: AgentProtocol,
    req: Payload,
    resp: Payload,
    done: () => void,
  ): void {
    const sentAt = this.q.now;
    const egressRef = this.newRef(h.proc.host);
    const reqSeq = conn.reqSeq;
    conn.reqSeq = advanceSeq(conn.reqSeq, req.size);
    conn.requests++;
    const delay = target.service.serverDelay ?? { medianUs: 50, sigma: 0.3 };
    this.q.after(this.latency(h.proc.host, target.host), () => {
      const ingressRef = this.newRef(target.host);
      const start = this.q.now;
      const serverThread = conn.serverThread ?? target.tgid;
      this.q.after(this.rng.lognormal(delay.medianUs * 1000, delay.sigma), () => {
        const respSeq = conn.respSeq;
        conn.respSeq = advanceSeq(conn.respSeq, resp.size);
        const x: Exchange = {
          protocol,
          serverIp: conn.serverIp,
          serverPort: conn.serverPort,
          clientIp: conn.clientIp,
          clientPort: conn.clientPort,
          reqSeq,
          respSeq,
          req,
          resp,
          traceId: h.req.traceId,
        };
        this.emit(x, target, ingressRef, serverThread, "Ingress", start, this.q.now, egressRef);
        this.q.after(this.latency(target.host, h.proc.host), () => {
          this.emit(x, h.proc, egressRef, thread, "Egress", sentAt, this.q.now, h.ingress);
          done();
        });
      });
    });
  }

  private redisExchange(
    h: Handling,
    thread: number,
    conn: Connection,
    target: Process,
    spec: Extract<CallSpec, { protocol: "Redis" }>,
    hit: boolean,
    done: () => void,
  ): void {
    const key = this.expand(h, spec.key);
    const fields = this.options.transactionFields;
    let args: string[];
    let wireResp: string;
    switch (spec.command) {
      case "GET":
        args = ["GET", key];
        wireResp = redisBulk(
          hit
            ? key.startsWith("session:")
              ? JSON.stringify({ user_id: fields ? h.req.userId : 0, roles: ["customer"] })
              : JSON.stringify({ id: fields ? h.itemId : 0, price: 19.99, stock: 12 })
            : null,
        );
        break;
      case "SET":
        args = [
          "SET",
          key,
          JSON.stringify({ id: fields ? h.itemId : 0, price: 19.99, stock: 12 }),
          "EX",
          "300",
        ];
        wireResp = "+OK\r\n";
        break;
      case "HGETALL":
        args = ["HGETALL", key];
        wireResp = redisArray(h.req.items.flatMap((item) => [`item:${fields ? item : 0}`, "1"]));
        break;
      case "INCR":
        args = ["INCR", key];
        wireResp = `:${this.rng.int(1, 1000)}\r\n`;
        break;
    }
    const max = this.options.maxPayloadBytes;
    this.serverExchange(
      h,
      thread,
      conn,
      target,
      "Redis",
      captured(redisCommand(args), max),
      captured(wireResp, max),
      done,
    );
  }

  private mysqlExchange(
    h: Handling,
    thread: number,
    conn: Connection,
    target: Process,
    spec: Extract<CallSpec, { protocol: "MySQL" }>,
    done: () => void,
  ): void {
    const value = this.field(h, spec.field);
    let sql: string;
    let wireResp: string;
    switch (spec.statement) {
      case "SELECT":
        sql = `SELECT id, ${spec.field}, name, price, updated_at FROM ${spec.table} WHERE ${spec.field} = ${value} LIMIT 20`;
        wireResp = mysqlResultSet(
          "shop",
          spec.table,
          ["id", spec.field, "name", "price"],
          [[String(this.rng.int(1, 1_000_000)), value, "item", "19.99"]],
        );
        break;
      case "INSERT":
        sql = `INSERT INTO ${spec.table} (${spec.field}, amount, status) VALUES (${value}, ${this.options.transactionFields ? h.req.amount : "0.00"}, 'captured')`;
        wireResp = mysqlOk(1);
        break;
      case "UPDATE":
        sql = `UPDATE ${spec.table} SET qty = qty - 1 WHERE ${spec.field} = ${value}`;
        wireResp = mysqlOk(1);
        break;
    }
    const max = this.options.maxPayloadBytes;
    this.serverExchange(
      h,
      thread,
      conn,
      target,
      "MySQL",
      binary(mysqlQuery(sql), max),
      binary(wireResp, max),
      done,
    );
  }

  // ---- output -----------------------------------------------------------------------

  private newRef(host: Host): SpanRef {
    const n = host.documents++;
    const docId = createHash("sha1")
      .update(`${this.seedTag}\0${host.agent}\0${n}`)
      .digest("base64url")
      .slice(0, 20);
    return { index: host.index, docId };
  }

  private date(): string {
    const ms = Number(this.startWallNs / 1_000_000n) + this.q.now / 1e6;
    const second = Math.floor(ms / 1000);
    if (second !== this.dateSecond) {
      this.dateSecond = second;
      this.dateText = httpDate(second * 1000);
    }
    return this.dateText;
  }

  private emit(
    x: Exchange,
    proc: Process,
    ref: SpanRef,
    thread: number,
    direction: AgentDirection,
    start: number,
    end: number,
    parent: SpanRef | null,
  ): void {
    const host = proc.host;
    if (end > this.lastActivity) this.lastActivity = end;
    const doc: AgentDocument = {
      tag: {
        ebpf_tag: {
          tgid: proc.tgid,
          pid: thread,
          component: proc.comm,
          direction,
          protocol: x.protocol,
          src_ip: x.serverIp,
          dst_ip: x.clientIp,
          src_port: x.serverPort,
          dst_port: x.clientPort,
          req_seq: x.reqSeq,
          resp_seq: x.respSeq,
        },
        docker_tag: proc.docker,
      },
      metric: {
        start_time: monotonic(host, start),
        end_time: monotonic(host, end),
        duration: end - start,
        req_size: x.req.size,
        resp_size: x.resp.size,
      },
      content: { req_content: x.req.text, resp_content: x.resp.text },
    };
    if (host.position % 3 === 2) doc.tag.other_tags = { env: "prod", node: host.hostname };
    const stats = this.stats;
    stats.spans++;
    stats.spansByAgent[host.agent] = (stats.spansByAgent[host.agent] ?? 0) + 1;
    stats.spansByProtocol[x.protocol] = (stats.spansByProtocol[x.protocol] ?? 0) + 1;
    this.out.push({
      line: { index: ref.index, id: ref.docId, doc },
      truth: { index: ref.index, docId: ref.docId, traceId: x.traceId, parent },
    });
  }
}
