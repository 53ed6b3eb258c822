// Runs `npm run build` first when dist/ is missing or older than src/: the examples import the
// package by name, which resolves to dist/ through the exports map. Silent when dist/ is fresh.
import { ensureBuilt } from "../../scripts/demo.mjs";

await ensureBuilt();
