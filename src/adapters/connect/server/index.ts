/**
 * The EventStore service server: Connect routes for Node and a fetch handler for Workers, Deno
 * and Bun, over any {@link EventStore}.
 *
 * @module
 */
export { type CorsOrigins, corsHeaders } from "./cors.js";
export {
  createEventStoreHandler,
  type EventStoreHandler,
  type EventStoreHandlerOptions,
  type Principal,
} from "./event-store-handler.js";
export { DEFAULT_LIMITS, type ServerLimits } from "./limits.js";
