// The layer rules of the design, checked on the source: the core runs unchanged in browsers,
// workers, Deno and Workers, so it must not touch platform APIs or other layers.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

function sources(dir: string): string[] {
  const abs = join(root, dir);
  try {
    statSync(abs);
  } catch {
    return [];
  }
  return readdirSync(abs, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => join(abs, f));
}

function imports(file: string): string[] {
  const src = readFileSync(file, "utf8");
  return [...src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+["']([^"']+)["']/g)].map((m) => m[1]!);
}

const forbidden: [RegExp, string][] = [
  [/\bBuffer\b/, "Buffer"],
  [/\bprocess\./, "process"],
  [/\bwindow\./, "window"],
  [/\bdocument\./, "document"],
  [/\bindexedDB\b/, "indexedDB"],
  [/\brequire\(/, "require()"],
];

describe.each(["src/core", "src/runtime"])("%s", (dir) => {
  const files = sources(dir);
  it("has sources to check", () => {
    if (dir === "src/core") expect(files.length).toBeGreaterThan(5);
  });
  for (const file of files) {
    const name = relative(root, file);
    it(`${name} uses no platform API`, () => {
      const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      for (const [re, what] of forbidden) expect(re.test(code), `${name} uses ${what}`).toBe(false);
    });
    it(`${name} imports only what its layer may`, () => {
      for (const spec of imports(file)) {
        const ok =
          spec.startsWith("./") ||
          (dir === "src/runtime" && spec.startsWith("../core/"));
        expect(ok, `${name} imports ${spec}`).toBe(true);
      }
    });
  }
});

describe("adapters", () => {
  for (const file of sources("src/adapters")) {
    const name = relative(root, file);
    const adapter = name.split("/")[2]!;
    if (adapter === "_contract" || /\/test-[^/]+$/.test(name)) continue; // test-only code
    it(`${name} imports the core, its own adapter and packages only`, () => {
      for (const spec of imports(file)) {
        if (!spec.startsWith(".")) continue; // a package: its own library
        const target = relative(root, join(dirname(file), spec));
        const ok = target.startsWith("src/core/") || target.startsWith(`src/adapters/${adapter}/`);
        expect(ok, `${name} imports ${spec}`).toBe(true);
      }
    });
  }
});
