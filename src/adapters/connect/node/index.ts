/**
 * Node hosting for the EventStore service: one port for HTTP/1.1 and h2c, CORS, clean shutdown.
 *
 * @module
 */
export { type NodeServer, type NodeServerOptions, startNodeServer } from "./node-server.js";
