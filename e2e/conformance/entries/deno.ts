// Bundle entry for Deno: everything the generated Deno test and server scripts import.
export { registerRemoteSuites, remoteStoresFrom } from "../remote-suites.js";
export { deadline, describeError, prefixed } from "../runner.js";
export { registerSuites } from "../suites.js";
export { createTenantServer } from "../tenant-server.js";
