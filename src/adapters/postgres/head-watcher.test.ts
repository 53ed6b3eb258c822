import { describe, expect, it } from "vitest";
import { createHeadWatcher } from "./head-watcher.js";
import type { SqlClient } from "./sql-client.js";

/** A client whose LISTEN the test drives by hand. */
function listening(): { client: SqlClient; notify(payload: string | undefined): void } {
  let deliver: ((payload: string | undefined) => void) | undefined;
  return {
    client: {
      query: async () => ({ rows: [] }),
      listen: async (_channel, onNotify) => ((deliver = onNotify), async () => {}),
    },
    notify: (payload) => deliver!(payload),
  };
}

describe("head watcher", () => {
  it("wakes on its tenant's notifications, except those up to a head this process already poked", async () => {
    const l = listening();
    const watcher = createHeadWatcher({ client: l.client, channel: "toka_events", tenant: "t", pollMs: 60_000, head: async () => 0, onError: () => {} });
    const wakes: (number | undefined)[] = [];
    watcher.add((h) => wakes.push(h));
    await new Promise((r) => setTimeout(r, 0)); // LISTEN is set up
    l.notify("t:5");
    l.notify("other:9"); // another tenant's log
    expect(wakes).toEqual([undefined]);
    watcher.poke(10);
    l.notify("t:7"); // committed before our 10: nothing new
    l.notify("t:10"); // our own commit's notification
    expect(wakes).toEqual([undefined, 10]);
    l.notify("t:11");
    l.notify("t:garbage");
    l.notify(undefined); // reconnected: notifications may have been lost
    expect(wakes).toEqual([undefined, 10, undefined, undefined, undefined]);
    await watcher.close();
  });

  it("holds back notifications during a commit of this process, and delivers only what its head does not cover", async () => {
    const l = listening();
    const watcher = createHeadWatcher({ client: l.client, channel: "toka_events", tenant: "t", pollMs: 60_000, head: async () => 0, onError: () => {} });
    const wakes: (number | undefined)[] = [];
    watcher.add((h) => wakes.push(h));
    await new Promise((r) => setTimeout(r, 0));
    let release = watcher.hold();
    l.notify("t:4"); // the commit's own notification, before the commit returns
    expect(wakes).toEqual([]);
    watcher.poke(4);
    release();
    release(); // twice is once
    expect(wakes).toEqual([4]);
    release = watcher.hold();
    const inner = watcher.hold(); // nested: delivered when the last one is released
    l.notify("t:9"); // another process committed past us meanwhile
    watcher.poke(6);
    inner();
    expect(wakes).toEqual([4, 6]);
    release();
    expect(wakes).toEqual([4, 6, undefined]);
    release = watcher.hold();
    l.notify("t:x"); // unreadable: woken after a failed commit too
    release();
    expect(wakes).toEqual([4, 6, undefined, undefined]);
    await watcher.close();
  });
});
