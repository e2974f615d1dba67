import { cpus } from "node:os";
import type { Client } from "@elastic/elasticsearch";

/** CPU used during one benchmark phase, to see who had the machine's cores. */
export interface CpuUse {
  /** CPU seconds Elasticsearch used (every node of the cluster, from its node stats). */
  elasticsearchSeconds: number;
  /** CPU seconds the assembler processes used (their process_cpu_seconds_total); 0 for the ceiling. */
  assemblerSeconds: number;
  /** Share of the machine's cores that were busy (anything, other engineers' work included). */
  machineBusy: number;
}

/** A reading taken at the start of a phase; `end` reads again and returns the difference. */
export interface CpuReading {
  end(assemblerSeconds?: number): Promise<CpuUse>;
}

export async function startCpuReading(es: Client): Promise<CpuReading> {
  const esFrom = await elasticsearchCpuMs(es);
  const machineFrom = machineTimes();
  return {
    end: async (assemblerSeconds = 0) => {
      const esTo = await elasticsearchCpuMs(es);
      const machineTo = machineTimes();
      const total = machineTo.total - machineFrom.total;
      return {
        elasticsearchSeconds: (esTo - esFrom) / 1000,
        assemblerSeconds,
        machineBusy: total > 0 ? (machineTo.busy - machineFrom.busy) / total : 0,
      };
    },
  };
}

async function elasticsearchCpuMs(es: Client): Promise<number> {
  const stats = await es.nodes.stats({ metric: "process" });
  return Object.values(stats.nodes).reduce(
    (sum, node) => sum + (node.process?.cpu?.total_in_millis ?? 0),
    0,
  );
}

function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    busy += all - times.idle;
    total += all;
  }
  return { busy, total };
}

/** CPU seconds a service process used so far, from its /metrics. */
export async function processCpuSeconds(http: string): Promise<number> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const match = /^deeptrace_process_cpu_seconds_total(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(text);
  if (!match) throw new Error(`no deeptrace_process_cpu_seconds_total at http://${http}/metrics`);
  return Number(match[1]);
}
