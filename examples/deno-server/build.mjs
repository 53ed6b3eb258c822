// Bundles main.ts and everything it imports (toka-events through its exports map, connect,
// protobuf) into one self-contained ES module, dist/main.js, that Deno runs without npm access.
import { fileURLToPath } from "node:url";
import { build } from "vite";

/** Builds into `outDir` (default examples/deno-server/dist); resolves with the bundle's path. */
export async function bundle(outDir = fileURLToPath(new URL("dist", import.meta.url))) {
  await build({
    configFile: false, // not the repository's vite.config.ts: that one builds the library into dist/
    root: fileURLToPath(new URL(".", import.meta.url)),
    cacheDir: fileURLToPath(new URL("../../node_modules/.vite/examples-deno-server", import.meta.url)),
    publicDir: false,
    logLevel: "warn",
    resolve: { conditions: ["deno", "worker", "browser", "import", "default"] },
    ssr: { target: "webworker", noExternal: true },
    build: {
      ssr: fileURLToPath(new URL("main.ts", import.meta.url)),
      outDir,
      emptyOutDir: true,
      target: "es2022",
      minify: false,
      rolldownOptions: { output: { format: "es", entryFileNames: "main.js", codeSplitting: false } },
    },
  });
  return `${outDir}/main.js`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`bundled ${await bundle()}`);
