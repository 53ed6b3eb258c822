/**
 * Cross-tab adapters: a bus over BroadcastChannel and a leader election over Web Locks.
 *
 * @module
 */
export {
  type BroadcastChannelBus,
  type BroadcastChannelBusOptions,
  type BroadcastChannelBusStats,
  createBroadcastChannelBus,
} from "./broadcast-channel-bus.js";
export { createTabLeader, type TabLeader, type TabLeaderOptions } from "./tab-leader.js";
