// The published package: every subpath resolves by name through the exports map, to the built
// files, and exports at runtime exactly what its source entry exports.
import { describe, expect, it } from "vitest";
import pkg from "../package.json" with { type: "json" };

const subpaths: Record<string, () => Promise<Record<string, unknown>>> = {
  ".": () => import("../src/core/index.js"),
  "./runtime": () => import("../src/runtime/index.js"),
  "./adapters/memory": () => import("../src/adapters/memory/index.js"),
  "./adapters/connect/client": () => import("../src/adapters/connect/client/index.js"),
  "./adapters/connect/server": () => import("../src/adapters/connect/server/index.js"),
  "./adapters/connect/node": () => import("../src/adapters/connect/node/index.js"),
  "./adapters/postgres": () => import("../src/adapters/postgres/index.js"),
  "./adapters/indexeddb": () => import("../src/adapters/indexeddb/index.js"),
  "./adapters/broadcast-channel": () => import("../src/adapters/broadcast-channel/index.js"),
  "./adapters/durable-object": () => import("../src/adapters/durable-object/index.js"),
};

describe("package exports", () => {
  it("lists every subpath the tests know about", () => {
    const published = Object.keys(pkg.exports).filter((k) => k !== "./package.json");
    expect(published.sort()).toEqual(Object.keys(subpaths).sort());
  });
  for (const [subpath, source] of Object.entries(subpaths)) {
    it(`toka-events${subpath.slice(1)} resolves by name to the build and matches its source`, async () => {
      const name = "toka-events" + subpath.slice(1);
      const built = (await import(/* @vite-ignore */ name)) as Record<string, unknown>;
      expect(Object.keys(built).sort()).toEqual(Object.keys(await source()).sort());
    });
  }
});
