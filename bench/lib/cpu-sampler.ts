import { readFileSync } from 'node:fs';

/** How busy the whole machine was over a stretch of time, from `/proc/stat`. */
export interface MachineLoad {
  /** Mean share of all cores busy (user, system, irq, steal…), 0–1. */
  mean: number;
  /** Share of the samples in which the machine was at least 95 % busy. */
  saturated: number;
  samples: number;
}

function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined; // not Linux
  }
}

/** Samples the machine's CPU every `everyMs` until `stop()`, which answers the load. */
export function sampleMachineLoad(everyMs = 500): { stop(): MachineLoad } {
  const shares: number[] = [];
  let last = cpuTimes();
  const timer = setInterval(() => {
    const now = cpuTimes();
    if (now !== undefined && last !== undefined && now.total > last.total) {
      shares.push((now.busy - last.busy) / (now.total - last.total));
    }
    last = now;
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const mean = shares.reduce((sum, share) => sum + share, 0) / (shares.length || 1);
      const saturated = shares.filter((share) => share >= 0.95).length / (shares.length || 1);
      return { mean, saturated, samples: shares.length };
    },
  };
}
