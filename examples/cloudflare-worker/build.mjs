// Bundles worker.ts and everything it imports (toka-events through its exports map, connect,
// protobuf) into one ES module, dist/worker.js, for workerd (or `wrangler deploy`).
import { fileURLToPath } from "node:url";
import { build } from "vite";

/** Builds into `outDir` (default examples/cloudflare-worker/dist); resolves with the bundle's path. */
export async function bundle(outDir = fileURLToPath(new URL("dist", import.meta.url))) {
  await build({
    configFile: false, // not the repository's vite.config.ts: that one builds the library into dist/
    root: fileURLToPath(new URL(".", import.meta.url)),
    cacheDir: fileURLToPath(new URL("../../node_modules/.vite/examples-cloudflare-worker", import.meta.url)),
    publicDir: false,
    logLevel: "warn",
    resolve: { conditions: ["workerd", "worker", "browser", "import", "default"] },
    ssr: { target: "webworker", noExternal: true },
    build: {
      ssr: fileURLToPath(new URL("worker.ts", import.meta.url)),
      outDir,
      emptyOutDir: true,
      target: "es2022",
      minify: false,
      rolldownOptions: { output: { format: "es", entryFileNames: "worker.js", codeSplitting: false } },
    },
  });
  return `${outDir}/worker.js`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = await bundle();
  console.log(`bundled ${path}; workerd serves it on http://127.0.0.1:8787 (config.capnp)`);
}
