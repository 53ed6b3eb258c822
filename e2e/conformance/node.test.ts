// The conformance suites in Node, one vitest test each, against the built package imported by its
// name (run `npm run build` first). The other runtimes run the very same suites from ./suites.ts.
import * as packageCore from "toka-events";
import { describe, expect, it, vi } from "vitest";
import * as contractCore from "../../src/core/index.js";
import { registerSuites } from "./suites.js";
import { testNames } from "./runner.js";

// The contract suites import the core by a relative path (../../core/index.js): give them the
// package's, as the bundles for the other runtimes do, so one built core is all the suites touch.
vi.mock("../../src/core/index.js", () => import("toka-events"));

describe("conformance suites in Node (vitest)", () => {
  it("the contract suites see the package's core, not src/", () => {
    expect(contractCore.EventError).toBe(packageCore.EventError);
    expect(contractCore.createEvent).toBe(packageCore.createEvent);
  });

  it("registers a non-trivial set of uniquely named tests", () => {
    const names = testNames(registerSuites);
    expect(names.length).toBeGreaterThan(60);
    for (const prefix of ["digest: ", "codec: ", "vault: ", "local vault: ", "bus: ", "history: "]) {
      expect(names.some((n) => n.startsWith(prefix)), prefix).toBe(true);
    }
  });

  registerSuites({ test: (name, fn) => it(name, fn) });
});
