/** Bundles the example into `outDir` (default: its dist/); resolves with the bundle's path. */
export function bundle(outDir?: string): Promise<string>;
