/** CPU time and memory of another process, from /proc (Linux). */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User+system CPU seconds of every thread of `pid` so far. */
export function procCpuSeconds(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat are utime and stime (counted after the ")" of comm).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function statusBytes(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The largest resident set `pid` has had (VmHWM). */
export function procPeakRssBytes(pid: number): number {
  return statusBytes(pid, 'VmHWM');
}

/** The resident set of `pid` now (VmRSS). */
export function procRssBytes(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}
