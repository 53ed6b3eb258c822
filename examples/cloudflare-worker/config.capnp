# workerd configuration: one worker, one HTTP socket.
#   workerd serve examples/cloudflare-worker/config.capnp            (127.0.0.1:8787)
#   workerd serve examples/cloudflare-worker/config.capnp --socket-addr http=127.0.0.1:9000
# Paths are relative to this file; dist/worker.js is made by build.mjs.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "toka-events", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "toka-events") ],
);

const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "dist/worker.js") ],
  compatibilityDate = "2025-09-01",
);
