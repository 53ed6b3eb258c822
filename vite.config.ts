import { defineConfig } from "vite";

/** One library entry per public subpath; shared code lands in chunks, never duplicated. */
export const entries = {
  core: "src/core/index.ts",
  runtime: "src/runtime/index.ts",
  "adapters/memory": "src/adapters/memory/index.ts",
  "adapters/connect/client": "src/adapters/connect/client/index.ts",
  "adapters/connect/server": "src/adapters/connect/server/index.ts",
  "adapters/connect/node": "src/adapters/connect/node/index.ts",
  "adapters/postgres": "src/adapters/postgres/index.ts",
  "adapters/indexeddb": "src/adapters/indexeddb/index.ts",
  "adapters/broadcast-channel": "src/adapters/broadcast-channel/index.ts",
  "adapters/durable-object": "src/adapters/durable-object/index.ts",
  cli: "src/cli/main.ts",
};

export default defineConfig({
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
    lib: { entry: entries, formats: ["es"] },
    rollupOptions: {
      external: [/^@bufbuild\//, /^@connectrpc\//, /^@electric-sql\//, /^idb$/, /^pg$/, /^node:/],
      output: {
        banner: (chunk) => (chunk.name === "cli" ? "#!/usr/bin/env node" : ""),
        chunkFileNames: "chunks/[name]-[hash].js",
        entryFileNames: "[name].js",
      },
    },
  },
});
