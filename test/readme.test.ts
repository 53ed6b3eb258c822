// The README's first example runs as written, against the built package.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it, vi } from "vitest";

const root = join(import.meta.dirname, "..");

it("README example runs and prints what it says", async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const code = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code, "README has an Example code block").toBeTruthy();
  const dir = join(root, ".tmp");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `readme-example-${process.pid}.mjs`);
  // Plain JS: the example is written so that it needs no type annotations.
  writeFileSync(file, code!);
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    await import(/* @vite-ignore */ file);
    expect(log.mock.calls).toEqual([
      [1, { text: "hello" }],
      [2, { text: "hi!" }],
    ]);
  } finally {
    log.mockRestore();
  }
});
