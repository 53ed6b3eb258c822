// Test-only: bundles a conformance entry into one self-contained ES module for a runtime, the way
// an app's bundler would: `toka-events/...` resolves by package name through the exports map to the
// built dist/ (run `npm run build` first), and @bufbuild/protobuf and @connectrpc/*
// are bundled in. The contract suites (test-only, unpublished) are bundled from
// src/adapters/_contract, with their `../../core/index.js` import pointed at the package, so the
// suites and the adapters share the built core; the build fails if any other src/ module slips in.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin, type Rolldown } from "vite";

const projectRoot = fileURLToPath(new URL("../../..", import.meta.url));
const srcDir = fileURLToPath(new URL("../../../src/", import.meta.url));
const contractDir = fileURLToPath(new URL("../../../src/adapters/_contract/", import.meta.url));
const scratch = fileURLToPath(new URL("../../../.tmp/e2e-conformance-vite", import.meta.url));

/**
 * Where the bundle runs:
 * - `browser`: a Chromium page or dedicated worker (vite's client build);
 * - `deno`: a neutral ES module (server build, no Node built-ins, Deno's conditions);
 * - `workerd`: an ES module worker (`ssr.target: "webworker"`, the workerd conditions).
 */
export type BundleTarget = "browser" | "deno" | "workerd";

const SERVER_CONDITIONS: Record<Exclude<BundleTarget, "browser">, string[]> = {
  deno: ["deno", "import", "module", "default"],
  workerd: ["workerd", "worker", "browser", "import", "default"],
};

/** Resolves the contract suites' relative core import to the package, as a user's code would get it. */
function contractCoreFromPackage(): Plugin {
  return {
    name: "toka-conformance:contract-core-from-package",
    enforce: "pre",
    async resolveId(source, importer, options) {
      if (source !== "../../core/index.js" || !importer?.startsWith(contractDir)) return null;
      const resolved = await this.resolve("toka-events", importer, { ...options, skipSelf: true });
      if (!resolved) throw new Error("cannot resolve the package toka-events from the contract suites");
      return resolved;
    },
  };
}

/** Fails the build when a src/ module other than the contract suites is bundled. */
function onlyContractFromSrc(entry: string): Plugin {
  return {
    name: "toka-conformance:only-contract-from-src",
    generateBundle(_opts, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== "chunk") continue;
        const stray = chunk.moduleIds.filter((id) => id.startsWith(srcDir) && !id.startsWith(contractDir));
        if (stray.length > 0) {
          this.error(`${relative(projectRoot, entry)} bundles src/ modules instead of the package: ${stray.map((id) => relative(projectRoot, id)).join(", ")}`);
        }
      }
    },
  };
}

/**
 * Builds `entry` (an absolute path) for `target` into one ES module and writes it to `outFile`.
 * Throws when the entry splits into several chunks or pulls in src/ modules besides the suites.
 *
 * @example
 * await bundle(fileURLToPath(new URL("../entries/workerd.ts", import.meta.url)), "workerd", `${dir}/worker.js`);
 */
export async function bundle(entry: string, target: BundleTarget, outFile: string): Promise<void> {
  const common = {
    configFile: false as const,
    root: projectRoot,
    cacheDir: `${scratch}/cache`,
    publicDir: false as const,
    logLevel: "warn" as const,
    plugins: [contractCoreFromPackage(), onlyContractFromSrc(entry)],
  };
  const buildOptions = {
    write: false,
    // Unused with write: false, but keeps any accidental write (or emptying) away from dist/.
    outDir: `${scratch}/out-${target}`,
    emptyOutDir: false,
    target: "es2022",
    minify: false,
    modulePreload: false,
    copyPublicDir: false,
  };
  const result =
    target === "browser"
      ? await build({ ...common, build: { ...buildOptions, rolldownOptions: { input: entry, output: { format: "es" } } } })
      : await build({
          ...common,
          ssr: { target: "webworker", noExternal: true, resolve: { conditions: SERVER_CONDITIONS[target], externalConditions: [] } },
          build: { ...buildOptions, ssr: entry, rolldownOptions: { output: { format: "es" } } },
        });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunks = outputs.flatMap((o) => o.output).filter((c): c is Rolldown.OutputChunk => c.type === "chunk");
  if (chunks.length !== 1) throw new Error(`expected one chunk from ${entry}, got ${chunks.map((c) => c.fileName).join(", ")}`);
  const code = chunks[0]!.code;
  const bare = [...chunks[0]!.imports, ...chunks[0]!.dynamicImports];
  if (bare.length > 0) throw new Error(`the ${target} bundle of ${entry} is not self-contained: it imports ${bare.join(", ")}`);
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
}

/** A path inside the project's `.tmp/`, for bundles and configs. */
export const tmpRoot = fileURLToPath(new URL("../../../.tmp/", import.meta.url)).replace(/[/\\]$/, "") + sep;
