// What the disk under PostgreSQL's WAL does meanwhile: an 8 KiB write + fdatasync every 10 ms in
// the temp directory (where the throwaway server keeps its data), timed. A commit cannot be
// acknowledged before its WAL flush, so this is the floor under commit latency on this machine.
// Asynchronous (libuv's thread pool): a stalled flush must not stall the bench's own clock.
import { open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Starts probing; the returned function stops and describes what it saw. */
export function startFsyncProbe(): () => Promise<string> {
  const path = join(tmpdir(), `toka-fsync-probe-${process.pid}-${Date.now()}`);
  const block = new Uint8Array(8192).fill(7);
  const times: number[] = [];
  let running = true;
  const loop = (async () => {
    const file = await open(path, "w");
    try {
      for (let i = 0; running; i++) {
        const t0 = performance.now();
        await file.write(block, 0, block.length, (i % 128) * block.length);
        await file.datasync();
        times.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await file.close();
      await rm(path, { force: true });
    }
  })();
  return async () => {
    running = false;
    await loop;
    const s = [...times].sort((a, b) => a - b);
    const q = (p: number) => (s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN).toFixed(1);
    const slow = s.filter((t) => t > 50).length;
    return `disk meanwhile (8 KiB write + fdatasync every 10 ms): n=${s.length} p50 ${q(0.5)} p99 ${q(0.99)} max ${q(1)} ms, ${slow} over 50 ms`;
  };
}
