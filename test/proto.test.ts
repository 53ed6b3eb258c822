// The protocol's generated code is committed; this fails when it no longer matches the .proto
// files (regenerate with `npm run gen`), and when the protocol breaks buf's STANDARD lint rules.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const buf = join(root, "node_modules", ".bin", "buf");
const committed = join(root, "src/adapters/connect/gen");
const fresh = mkdtempSync(join(tmpdir(), "toka-gen-"));

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .sort();
}

describe("protocol", () => {
  afterAll(() => rmSync(fresh, { recursive: true, force: true }));

  it("passes buf lint (STANDARD)", () => {
    execFileSync(buf, ["lint"], { cwd: root, stdio: "pipe" });
  });

  it("committed generated code matches a fresh buf generate", () => {
    execFileSync(buf, ["generate", "--output", fresh], { cwd: root, stdio: "pipe" });
    const regenerated = join(fresh, "src/adapters/connect/gen");
    expect(files(regenerated)).toEqual(files(committed));
    for (const f of files(committed)) {
      expect(readFileSync(join(regenerated, f), "utf8"), `${f} differs: run npm run gen`).toBe(readFileSync(join(committed, f), "utf8"));
    }
  });
});
