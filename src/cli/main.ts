import { parseArgs } from "node:util";
import { DEFAULT_STORE } from "./open-store.js";
import { serve } from "./serve.js";

const usage = `usage: toka-events serve [--host 127.0.0.1] [--port 8080] [--store ${DEFAULT_STORE}]

  serve   run the event store server (Connect, gRPC-web and gRPC on one port)

  --store memory            in memory, gone when the server stops
  --store pglite:<dir>      PGlite (embedded Postgres) in a data directory (the default)
  --store postgres://…      a PostgreSQL server`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "serve") {
    console.error(command === undefined || command === "--help" ? usage : `unknown command "${command}"\n\n${usage}`);
    return command === "--help" ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8080" },
      store: { type: "string", default: DEFAULT_STORE },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`invalid --port ${values.port}`);
    return 2;
  }
  await serve({ host: values.host, port, store: values.store, log: (l) => console.log(l) });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
