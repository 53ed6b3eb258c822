import { defineConfig } from "vite";

/** One library entry per public subpath; shared code lands in chunks, never duplicated. */
export const entries = {
  core: "src/core/index.ts",
  "adapters/memory": "src/adapters/memory/index.ts",
};

export default defineConfig({
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
    lib: { entry: entries, formats: ["es"] },
    rollupOptions: {
      external: [/^@noble\/hashes/, /^@bufbuild\//, /^@connectrpc\//, /^idb$/, /^node:/],
      output: { chunkFileNames: "chunks/[name]-[hash].js", entryFileNames: "[name].js" },
    },
  },
});
