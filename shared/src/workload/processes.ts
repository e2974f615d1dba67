import type { DockerTag } from "./agent-document.js";
import type { ConnectionPool } from "./connections.js";
import { allocatePid, type Host } from "./hosts.js";
import type { Rng } from "./rng.js";
import { ThreadIds } from "./threads.js";
import { commOf, type ServiceSpec, type Topology, threadModelOf } from "./topology.js";

/** A running instance of a service on one host (one tgid, one container or none). */
export interface Process {
  id: number;
  service: ServiceSpec;
  instance: number;
  host: Host;
  ip: string;
  port: number;
  tgid: number;
  comm: string;
  threads: ThreadIds;
  docker: DockerTag | null;
  /** Keep-alive pools to target processes, by target process id. */
  pools: Map<number, ConnectionPool>;
  /** Containerized processes resolve through Docker's embedded DNS, others through systemd-resolved. */
  resolverIp: string;
}

/**
 * Places service instances on hosts round-robin (HTTP services get `replicas` instances,
 * Redis and MySQL one) and gives each a tgid, threads, an address and container metadata.
 */
export function placeProcesses(
  topology: Topology,
  hosts: Host[],
  replicas: number,
  rng: Rng,
): Process[] {
  const processes: Process[] = [];
  const containersOnHost = hosts.map(() => 0);
  let slot = 0;
  for (const service of topology.services) {
    const instances = service.kind === "http" ? replicas : 1;
    for (let instance = 0; instance < instances; instance++) {
      const host = hosts[slot % hosts.length] as Host;
      slot++;
      const tgid = allocatePid(host);
      let ip = host.ip;
      let docker: DockerTag | null = null;
      if (service.containerized) {
        const n = (containersOnHost[host.position] ?? 0) + 1;
        containersOnHost[host.position] = n;
        ip = `10.0.${host.position + 1}.${n + 1}`;
        const containerId = rng.hex(64);
        const name = `shop-${service.name}-${instance + 1}`;
        docker = {
          container_id: containerId,
          container_name: host.containerNameAsArray ? [`/${name}`] : name,
          image: service.image,
          hostname: containerId.slice(0, 12),
          ip,
          network_mode: "shop_default",
        };
      }
      processes.push({
        id: processes.length,
        service,
        instance,
        host,
        ip,
        port: service.port,
        tgid,
        comm: commOf(service),
        threads: new ThreadIds(host, tgid, threadModelOf(service.language), rng),
        docker,
        pools: new Map(),
        resolverIp: service.containerized ? "127.0.0.11" : "127.0.0.53",
      });
    }
  }
  return processes;
}
