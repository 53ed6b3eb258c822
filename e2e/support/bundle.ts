// Test-only: bundles a page module for the browser the way an app's bundler would, so `toka-events`
// imports resolve by package name through the exports map to the built `dist/`, never to `src/`.
import { fileURLToPath } from "node:url";
import { build, type Rolldown } from "vite";

const projectRoot = fileURLToPath(new URL("../..", import.meta.url));
const scratch = fileURLToPath(new URL("../../.tmp/e2e-vite", import.meta.url));

/**
 * Builds `entry` (an absolute path) into one ES2022 module for browsers and workers, keeping its
 * exports, and returns its code.
 * Throws when the entry splits into several chunks, since the page loads a single file.
 *
 * @example
 * const code = await bundle(fileURLToPath(new URL("./page/app.page.ts", import.meta.url)));
 */
export async function bundle(entry: string): Promise<string> {
  const result = await build({
    // The project's vite.config.ts builds the package itself (lib mode into dist/): ignore it.
    configFile: false,
    root: projectRoot,
    cacheDir: `${scratch}/cache`,
    publicDir: false,
    logLevel: "warn",
    build: {
      write: false,
      // Unused with write: false, but keeps any accidental write (or emptying) away from dist/.
      outDir: `${scratch}/out`,
      emptyOutDir: false,
      target: "es2022",
      minify: false,
      modulePreload: false,
      copyPublicDir: false,
      // Keep the entry's exports: a worker module exports its handler and Durable Object classes.
      rolldownOptions: { input: entry, preserveEntrySignatures: "exports-only", output: { format: "es" } },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunks = outputs.flatMap((o) => o.output).filter((c): c is Rolldown.OutputChunk => c.type === "chunk");
  if (chunks.length !== 1) throw new Error(`expected one chunk from ${entry}, got ${chunks.map((c) => c.fileName).join(", ")}`);
  return chunks[0]!.code;
}
