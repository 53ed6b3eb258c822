/**
 * The EventStore service client: a remote store over any Connect transport.
 *
 * @module
 */
export { createRemoteStore, type RemoteStoreOptions } from "./remote-store.js";
export { createWebTransport, type WebTransportOptions } from "./web-transport.js";
