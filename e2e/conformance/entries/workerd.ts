// Bundle entry for workerd: one ES module worker whose role depends on the path.
// - `GET /run/local`: the conformance suites, run in the worker; JSON TestResult[].
// - `GET /run/remote`: the vault and catch-up contracts through this worker's connect client
//   (createRemoteStore + createWebTransport, no fetch of our own) against Node servers handed out
//   by the control server at the `CONTROL_URL` binding; JSON TestResult[].
// - `GET /probe/redirect-error`: whether this runtime's own fetch refuses `redirect: "error"`
//   (what connect-web sends), so a passing `/run/remote` shows the SDK copes with it;
// - `/t/<tenant>/…`, `/health`: the Connect server's fetch handler over per-tenant memory stores.
import { registerRemoteSuites, remoteStoresFrom } from "../remote-suites.js";
import { runAll } from "../runner.js";
import { registerSuites } from "../suites.js";
import { createTenantServer, type TenantServer } from "../tenant-server.js";

interface Env {
  CONTROL_URL?: string;
}

// One per isolate, made on the first request: the global scope may not use random values.
let server: TenantServer | undefined;

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/run/local") return json(await runAll(registerSuites));
    if (pathname === "/run/remote") {
      const control = env.CONTROL_URL;
      if (!control) return json({ error: "no CONTROL_URL binding" }, 500);
      return json(await runAll((run) => registerRemoteSuites(run, remoteStoresFrom(control))));
    }
    if (pathname === "/probe/redirect-error") {
      try {
        const res = await fetch(`${env.CONTROL_URL}/servers`, { redirect: "error" });
        await res.body?.cancel();
        return json({ refused: false, status: res.status });
      } catch (err) {
        return json({ refused: true, message: String(err) });
      }
    }
    server ??= createTenantServer();
    return server.fetch(request);
  },
};
