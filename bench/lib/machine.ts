import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

/** What the figures were measured on. */
export function describeMachine(): {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  date: string;
} {
  let cpu = 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1] !== undefined) cpu = match[1].trim();
  } catch {
    // not Linux
  }
  return {
    cpu,
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

/** The 1-minute load average when the run started (other work on a shared machine). */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}
