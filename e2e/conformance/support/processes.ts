// Test-only (Node): runtime binaries as child processes, captured output, and a clean stop by PID.
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { fileURLToPath } from "node:url";

/** The project's node_modules/.bin/<name>. */
export const bin = (name: string) => fileURLToPath(new URL(`../../../node_modules/.bin/${name}`, import.meta.url));

/** A child process with its output collected. */
export interface Child {
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Settles with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Resolves with the first stdout/stderr match of `re`; rejects if the process exits first or after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray>;
  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `command` without a shell; its output is kept for error messages. */
export function start(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  if (proc.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = proc.pid;
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString("utf8");
    for (const l of listeners) l();
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  let hasExited = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.once("error", (err) => {
      out += `\n[spawn error] ${String(err)}`;
      hasExited = true;
      resolve("error");
    });
    proc.once("close", (code, signal) => {
      hasExited = true;
      for (const l of listeners) l();
      resolve(code ?? signal ?? "unknown");
    });
  });
  return {
    pid,
    proc,
    output: () => out,
    exited,
    waitFor(re, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) return finish(() => resolve(m));
          if (hasExited) finish(() => reject(new Error(`${command} exited before printing ${re}:\n${out}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${command} did not print ${re} within ${ms} ms:\n${out}`))), ms);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(graceMs = 3_000) {
      if (hasExited) return;
      process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (!hasExited) process.kill(pid, "SIGKILL");
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for servers that cannot report one). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `url` until it answers 200; fails when `child` exits first or after `ms`. */
export async function waitForHttp(url: string, child: Child, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`process exited before ${url} answered:\n${child.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${ms} ms:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
