// `vite build --config examples/browser-app/vite.config.ts` (from the repository root) builds the
// app into examples/browser-app/dist: static files any web server can host.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "./", // relative asset URLs: the app works from any path
  cacheDir: here("../../node_modules/.vite/examples-browser-app"),
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: here("dist"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
  },
});
