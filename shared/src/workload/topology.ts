/**
 * Microservice topologies the workload generator can simulate: services, what each HTTP
 * operation does (processing delays, downstream calls, cache/DB access) and where traffic
 * enters. Delays are log-normal (median in microseconds, sigma of the underlying normal).
 */
export type TopologyName = "chain" | "fanout" | "repeated" | "cache" | "mixed";

export const TOPOLOGY_NAMES: readonly TopologyName[] = [
  "chain",
  "fanout",
  "repeated",
  "cache",
  "mixed",
];

export interface Delay {
  medianUs: number;
  sigma: number;
}

/** How the service's threads show up in the agent's `pid` field. */
export type ThreadModel =
  /** A pool worker handles the whole request (Java servlet, Python worker threads). */
  | "per-request"
  /** Goroutines multiplexed over a few OS threads: any syscall may run on any of them. */
  | "goroutine"
  /** One event-loop thread (Node.js): pid is always the tgid. */
  | "event-loop"
  /** Single-threaded server (Redis). */
  | "single"
  /** One server thread per client connection (MySQL). */
  | "per-connection";

export type Language = "go" | "java" | "python" | "node" | "redis" | "mysql";

/** A value carried through a request: `{order_id}` in a template. */
export type Field = "user_id" | "order_id" | "item_id" | "session" | "amount";

export type CallSpec =
  | {
      protocol: "HTTP1";
      service: string;
      operation: string;
      /** Transaction fields sent as query parameters (GET) or JSON body fields (POST/PUT). */
      fields: Field[];
    }
  | { protocol: "Redis"; service: string; command: "GET" | "SET" | "HGETALL" | "INCR"; key: string }
  | {
      protocol: "MySQL";
      service: string;
      statement: "SELECT" | "INSERT" | "UPDATE";
      table: string;
      field: Field;
    };

export type Step =
  | { kind: "work"; delay: Delay }
  | { kind: "call"; call: CallSpec }
  /** Calls issued concurrently (goroutines, executor tasks); continues when all returned. */
  | { kind: "parallel"; calls: CallSpec[] }
  /** The body once per item of the request (1..N items), sequentially. */
  | { kind: "each-item"; body: Step[] }
  /** Cache-aside read: Redis GET; on a miss a MySQL SELECT then a Redis SET. */
  | {
      kind: "cache-aside";
      cache: string;
      db: string;
      key: string;
      table: string;
      field: Field;
      hitRatio: number;
    };

export interface HttpOperation {
  method: "GET" | "POST" | "PUT";
  path: string;
  steps: Step[];
}

export interface ServiceSpec {
  name: string;
  kind: "http" | "redis" | "mysql";
  language: Language;
  port: number;
  image: string;
  /** Runs in a Docker container (docker_tag present) or on the bare host (docker_tag null). */
  containerized: boolean;
  /** HTTP operations by name (http services only). */
  operations: Record<string, HttpOperation>;
  /** Server-side processing time per command (redis/mysql). */
  serverDelay?: Delay;
}

export interface EntryPoint {
  service: string;
  operation: string;
  weight: number;
}

export interface Topology {
  name: TopologyName;
  description: string;
  services: ServiceSpec[];
  entries: EntryPoint[];
}

export function threadModelOf(language: Language): ThreadModel {
  switch (language) {
    case "go":
      return "goroutine";
    case "java":
    case "python":
      return "per-request";
    case "node":
      return "event-loop";
    case "redis":
      return "single";
    case "mysql":
      return "per-connection";
  }
}

export function commOf(service: ServiceSpec): string {
  switch (service.language) {
    case "go":
      return service.name.slice(0, 15);
    case "java":
      return "java";
    case "python":
      return "python3";
    case "node":
      return "node";
    case "redis":
      return "redis-server";
    case "mysql":
      return "mysqld";
  }
}

const d = (medianUs: number, sigma = 0.35): Delay => ({ medianUs, sigma });
const work = (medianUs: number, sigma = 0.35): Step => ({
  kind: "work",
  delay: d(medianUs, sigma),
});
const http = (service: string, operation: string, fields: Field[] = []): CallSpec => ({
  protocol: "HTTP1",
  service,
  operation,
  fields,
});

function httpService(
  name: string,
  language: Language,
  operations: Record<string, HttpOperation>,
): ServiceSpec {
  const port =
    language === "java" ? 8080 : language === "python" ? 8000 : language === "node" ? 3000 : 5000;
  return {
    name,
    kind: "http",
    language,
    port,
    image: `shop/${name}:1.${name.length % 7}.${name.charCodeAt(0) % 10}`,
    containerized: true,
    operations,
  };
}

function redis(name = "redis"): ServiceSpec {
  return {
    name,
    kind: "redis",
    language: "redis",
    port: 6379,
    image: "redis:7.2-alpine",
    containerized: true,
    operations: {},
    serverDelay: d(25, 0.4),
  };
}

function mysql(name = "mysql"): ServiceSpec {
  return {
    name,
    kind: "mysql",
    language: "mysql",
    port: 3306,
    image: "mysql:8.0",
    containerized: false,
    operations: {},
    serverDelay: d(600, 0.6),
  };
}

const leaf = (method: HttpOperation["method"], path: string, medianUs: number): HttpOperation => ({
  method,
  path,
  steps: [work(medianUs, 0.45)],
});

function chain(): Topology {
  return {
    name: "chain",
    description:
      "frontend -> auth -> orders -> inventory -> pricing, each working before and after its call",
    services: [
      httpService("frontend", "go", {
        home: {
          method: "GET",
          path: "/api/home",
          steps: [
            work(150),
            { kind: "call", call: http("auth", "verify", ["user_id", "session"]) },
            work(120),
          ],
        },
      }),
      httpService("auth", "java", {
        verify: {
          method: "GET",
          path: "/api/auth/verify",
          steps: [
            work(200),
            { kind: "call", call: http("orders", "recent", ["user_id"]) },
            work(80),
          ],
        },
      }),
      httpService("orders", "python", {
        recent: {
          method: "GET",
          path: "/api/orders/recent",
          steps: [
            work(400),
            { kind: "call", call: http("inventory", "stock", ["order_id", "item_id"]) },
            work(250),
          ],
        },
      }),
      httpService("inventory", "go", {
        stock: {
          method: "GET",
          path: "/api/stock",
          steps: [
            work(120),
            { kind: "call", call: http("pricing", "quote", ["item_id"]) },
            work(90),
          ],
        },
      }),
      httpService("pricing", "node", { quote: leaf("GET", "/api/price", 300) }),
    ],
    entries: [{ service: "frontend", operation: "home", weight: 1 }],
  };
}

function fanout(): Topology {
  return {
    name: "fanout",
    description:
      "frontend calls users, catalog, cart and recommendations in parallel, then shipping",
    services: [
      httpService("frontend", "go", {
        page: {
          method: "GET",
          path: "/api/page",
          steps: [
            work(100),
            {
              kind: "parallel",
              calls: [
                http("users", "profile", ["user_id"]),
                http("catalog", "items", ["item_id"]),
                http("cart", "view", ["user_id", "session"]),
                http("recommendations", "similar", ["item_id", "user_id"]),
              ],
            },
            work(180),
            { kind: "call", call: http("shipping", "estimate", ["order_id"]) },
            work(60),
          ],
        },
      }),
      httpService("users", "java", { profile: leaf("GET", "/api/users/profile", 450) }),
      httpService("catalog", "go", { items: leaf("GET", "/api/catalog/items", 700) }),
      httpService("cart", "node", { view: leaf("GET", "/api/cart", 350) }),
      httpService("recommendations", "python", {
        similar: leaf("GET", "/api/recommendations", 1500),
      }),
      httpService("shipping", "go", { estimate: leaf("GET", "/api/shipping/estimate", 250) }),
    ],
    entries: [{ service: "frontend", operation: "page", weight: 1 }],
  };
}

function repeated(): Topology {
  return {
    name: "repeated",
    description:
      "checkout calls inventory once per item (1..5 times), then payments; frontend -> checkout",
    services: [
      httpService("frontend", "go", {
        checkout: {
          method: "POST",
          path: "/api/checkout",
          steps: [
            work(120),
            { kind: "call", call: http("checkout", "place", ["order_id", "user_id"]) },
            work(90),
          ],
        },
      }),
      httpService("checkout", "java", {
        place: {
          method: "POST",
          path: "/api/orders",
          steps: [
            work(250),
            {
              kind: "each-item",
              body: [
                { kind: "call", call: http("inventory", "reserve", ["order_id", "item_id"]) },
                work(40, 0.5),
              ],
            },
            work(150),
            { kind: "call", call: http("payments", "charge", ["order_id", "amount"]) },
            work(100),
          ],
        },
      }),
      httpService("inventory", "go", { reserve: leaf("POST", "/api/inventory/reserve", 400) }),
      httpService("payments", "python", { charge: leaf("POST", "/api/payments", 1200) }),
    ],
    entries: [{ service: "frontend", operation: "checkout", weight: 1 }],
  };
}

function cache(): Topology {
  return {
    name: "cache",
    description:
      "frontend reads the session from Redis and calls catalog; catalog reads products cache-aside (Redis, MySQL on a miss) and calls reviews, which queries MySQL",
    services: [
      httpService("frontend", "go", {
        product: {
          method: "GET",
          path: "/api/product",
          steps: [
            work(80),
            {
              kind: "call",
              call: {
                protocol: "Redis",
                service: "redis",
                command: "GET",
                key: "session:{session}",
              },
            },
            work(60),
            { kind: "call", call: http("catalog", "product", ["item_id", "user_id"]) },
            work(70),
          ],
        },
      }),
      httpService("catalog", "java", {
        product: {
          method: "GET",
          path: "/api/catalog/product",
          steps: [
            work(150),
            {
              kind: "cache-aside",
              cache: "redis",
              db: "mysql",
              key: "product:{item_id}",
              table: "products",
              field: "item_id",
              hitRatio: 0.7,
            },
            work(100),
            { kind: "call", call: http("reviews", "list", ["item_id"]) },
            work(80),
          ],
        },
      }),
      httpService("reviews", "python", {
        list: {
          method: "GET",
          path: "/api/reviews",
          steps: [
            work(200),
            {
              kind: "call",
              call: {
                protocol: "MySQL",
                service: "mysql",
                statement: "SELECT",
                table: "reviews",
                field: "item_id",
              },
            },
            work(300),
          ],
        },
      }),
      redis(),
      mysql(),
    ],
    entries: [{ service: "frontend", operation: "product", weight: 1 }],
  };
}

function mixed(): Topology {
  return {
    name: "mixed",
    description:
      "an online shop: browse (cache-aside catalog, parallel recommendations) and checkout (cart in Redis, inventory per item, payments writing MySQL, shipping and email in parallel)",
    services: [
      httpService("frontend", "go", {
        browse: {
          method: "GET",
          path: "/api/product",
          steps: [
            work(80),
            {
              kind: "call",
              call: {
                protocol: "Redis",
                service: "redis",
                command: "GET",
                key: "session:{session}",
              },
            },
            {
              kind: "parallel",
              calls: [
                http("catalog", "product", ["item_id"]),
                http("recommendations", "similar", ["item_id", "user_id"]),
              ],
            },
            work(120),
          ],
        },
        checkout: {
          method: "POST",
          path: "/api/checkout",
          steps: [
            work(100),
            {
              kind: "call",
              call: {
                protocol: "Redis",
                service: "redis",
                command: "GET",
                key: "session:{session}",
              },
            },
            { kind: "call", call: http("checkout", "place", ["order_id", "user_id"]) },
            work(90),
          ],
        },
      }),
      httpService("catalog", "java", {
        product: {
          method: "GET",
          path: "/api/catalog/product",
          steps: [
            work(150),
            {
              kind: "cache-aside",
              cache: "redis",
              db: "mysql",
              key: "product:{item_id}",
              table: "products",
              field: "item_id",
              hitRatio: 0.75,
            },
            work(100),
          ],
        },
        price: leaf("GET", "/api/catalog/price", 200),
      }),
      httpService("recommendations", "python", {
        similar: leaf("GET", "/api/recommendations", 1400),
      }),
      httpService("checkout", "java", {
        place: {
          method: "POST",
          path: "/api/orders",
          steps: [
            work(200),
            { kind: "call", call: http("cart", "view", ["user_id"]) },
            {
              kind: "each-item",
              body: [
                { kind: "call", call: http("inventory", "reserve", ["order_id", "item_id"]) },
                { kind: "call", call: http("catalog", "price", ["item_id"]) },
              ],
            },
            work(150),
            { kind: "call", call: http("payments", "charge", ["order_id", "amount"]) },
            {
              kind: "parallel",
              calls: [
                http("shipping", "create", ["order_id"]),
                http("email", "confirm", ["order_id", "user_id"]),
              ],
            },
            work(100),
          ],
        },
      }),
      httpService("cart", "node", {
        view: {
          method: "GET",
          path: "/api/cart",
          steps: [
            work(60),
            {
              kind: "call",
              call: {
                protocol: "Redis",
                service: "redis",
                command: "HGETALL",
                key: "cart:{user_id}",
              },
            },
            work(80),
          ],
        },
      }),
      httpService("inventory", "go", {
        reserve: {
          method: "POST",
          path: "/api/inventory/reserve",
          steps: [
            work(100),
            {
              kind: "call",
              call: {
                protocol: "MySQL",
                service: "mysql",
                statement: "UPDATE",
                table: "stock",
                field: "item_id",
              },
            },
            work(60),
          ],
        },
      }),
      httpService("payments", "python", {
        charge: {
          method: "POST",
          path: "/api/payments",
          steps: [
            work(500),
            {
              kind: "call",
              call: {
                protocol: "MySQL",
                service: "mysql",
                statement: "INSERT",
                table: "payments",
                field: "order_id",
              },
            },
            work(300),
          ],
        },
      }),
      httpService("shipping", "go", { create: leaf("POST", "/api/shipments", 300) }),
      httpService("email", "node", { confirm: leaf("POST", "/api/email/confirm", 250) }),
      redis(),
      mysql(),
    ],
    entries: [
      { service: "frontend", operation: "browse", weight: 0.6 },
      { service: "frontend", operation: "checkout", weight: 0.4 },
    ],
  };
}

export function buildTopology(name: TopologyName): Topology {
  switch (name) {
    case "chain":
      return chain();
    case "fanout":
      return fanout();
    case "repeated":
      return repeated();
    case "cache":
      return cache();
    case "mixed":
      return mixed();
  }
}

/** Checks that every call names an existing service and operation. */
export function validateTopology(topology: Topology): void {
  const byName = new Map(topology.services.map((s) => [s.name, s]));
  const checkCall = (where: string, call: CallSpec): void => {
    const target = byName.get(call.service);
    if (!target) throw new Error(`${where}: unknown service ${call.service}`);
    if (call.protocol === "HTTP1" && !target.operations[call.operation]) {
      throw new Error(`${where}: unknown operation ${call.service}.${call.operation}`);
    }
    if (call.protocol === "Redis" && target.kind !== "redis")
      throw new Error(`${where}: ${call.service} is not redis`);
    if (call.protocol === "MySQL" && target.kind !== "mysql")
      throw new Error(`${where}: ${call.service} is not mysql`);
  };
  const checkSteps = (where: string, steps: Step[]): void => {
    for (const step of steps) {
      if (step.kind === "call") checkCall(where, step.call);
      else if (step.kind === "parallel") for (const c of step.calls) checkCall(where, c);
      else if (step.kind === "each-item") checkSteps(where, step.body);
      else if (step.kind === "cache-aside") {
        if (byName.get(step.cache)?.kind !== "redis")
          throw new Error(`${where}: cache ${step.cache} is not redis`);
        if (byName.get(step.db)?.kind !== "mysql")
          throw new Error(`${where}: db ${step.db} is not mysql`);
      }
    }
  };
  for (const s of topology.services) {
    for (const [op, spec] of Object.entries(s.operations))
      checkSteps(`${s.name}.${op}`, spec.steps);
  }
  for (const e of topology.entries) {
    if (!byName.get(e.service)?.operations[e.operation]) {
      throw new Error(`entry ${e.service}.${e.operation} does not exist`);
    }
  }
}
