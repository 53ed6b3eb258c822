// Test-only: child processes for the examples' smoke tests, started as a user would start them.
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const running = new Set<ChildProcess>();

/** A started process and its combined output. */
export interface Proc {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** stdout only so far. */
  stdout(): string;
  /** Resolves with the first match of `re` in the output; rejects on exit or after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** The exit code (null when ended by a signal). */
  readonly exit: Promise<number | null>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `cmd args` from the repository root (by default) with piped output. */
export function start(cmd: string, args: string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, ...opts, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let all = "";
  let out = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (d) => {
    all += d;
    out += d;
    for (const l of listeners) l();
  });
  child.stderr!.on("data", (d) => {
    all += d;
    for (const l of listeners) l();
  });
  const exit = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
      for (const l of listeners) l();
    });
    child.once("error", () => resolve(-1));
  });
  return {
    child,
    output: () => all,
    stdout: () => out,
    exit,
    waitFor(re, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(all);
          if (m) return done(() => resolve(m));
          if (child.exitCode !== null || child.signalCode !== null) done(() => reject(new Error(`${cmd} exited (${child.exitCode ?? child.signalCode}) before ${re}:\n${all}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${re} within ${ms} ms from ${cmd}:\n${all}`))), ms);
        const done = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}

/** Kills whatever is still running (for afterAll). */
export function killAll(): void {
  for (const c of running) c.kill("SIGKILL");
  running.clear();
}

/** A port that was free a moment ago on 127.0.0.1 (for programs that cannot report a port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** `node dist/cli.js serve --store memory --port 0`: resolves with the process and its URL. */
export async function serveMemory(): Promise<{ proc: Proc; url: string }> {
  const proc = start(process.execPath, ["dist/cli.js", "serve", "--store", "memory", "--port", "0"]);
  const m = await proc.waitFor(/listening on (http:\/\/\S+)/);
  return { proc, url: m[1]! };
}
