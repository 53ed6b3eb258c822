// Bundles each public entry for a neutral platform (no Node, no browser globals), minified,
// and checks its gzipped size against a budget. Exits 1 when any budget is exceeded.
import { build } from "esbuild";
import { gzipSync } from "node:zlib";

// What an app ships for each use, its libraries included (idb, connect-web, protobuf).
const budgets = [
  { name: "core", entry: "export * from './src/core/index.ts';", kb: 10 },
  {
    name: "core + memory",
    entry: "export * from './src/core/index.ts'; export * from './src/adapters/memory/index.ts';",
    kb: 12,
  },
  {
    name: "browser offline-first (core + indexeddb + broadcast-channel + runtime)",
    entry: [
      "export * from './src/core/index.ts';",
      "export * from './src/adapters/indexeddb/index.ts';",
      "export * from './src/adapters/broadcast-channel/index.ts';",
      "export * from './src/runtime/index.ts';",
    ].join(" "),
    kb: 20,
  },
  {
    name: "connect client (+ protobuf code)",
    entry: "export * from './src/adapters/connect/client/index.ts';",
    kb: 45,
  },
];

let failed = false;
for (const { name, entry, kb } of budgets) {
  const out = await build({
    stdin: { contents: entry, resolveDir: process.cwd(), loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["import", "default"],
    target: "es2022",
    logLevel: "silent",
  });
  const code = out.outputFiles[0].contents;
  const gz = gzipSync(code, { level: 9 }).length;
  const ok = gz <= kb * 1024;
  failed ||= !ok;
  console.log(
    `${ok ? "ok  " : "OVER"} ${name.padEnd(72)} ${(code.length / 1024).toFixed(1).padStart(6)} KB min  ${(gz / 1024).toFixed(2).padStart(6)} KB gzip  (budget ${kb} KB)`,
  );
}
process.exit(failed ? 1 : 0);
