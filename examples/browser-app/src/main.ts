// An offline-first shared to-do list on toka-events: an IndexedDB vault shared by the tabs, a
// cross-tab bus, one leader tab that syncs, and the runtime pushing and pulling in the background.
// Every import of the library goes through its package name (the exports map), as in any app.
import { ErrorCode, EventError, type StoredEvent } from "toka-events";
import { createBroadcastChannelBus, createTabLeader } from "toka-events/adapters/broadcast-channel";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { openIndexedDbVault } from "toka-events/adapters/indexeddb";
import { type Clock, createEventRuntime, type EventRuntime, type RuntimeStatus, systemClock } from "toka-events/runtime";
import css from "./style.css?inline";
import { type Added, type Completed, createTodoList, KINDS, type Todo } from "./todos.js";

document.head.append(Object.assign(document.createElement("style"), { textContent: css }));

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  card: document.querySelector<HTMLElement>("main.card")!,
  form: $<HTMLFormElement>("add-form"),
  input: $<HTMLInputElement>("new-title"),
  add: document.querySelector<HTMLButtonElement>("#add-form button")!,
  list: $<HTMLUListElement>("list"),
  empty: $("empty"),
  error: $("error"),
  conn: $("conn"),
  online: $("online"),
  pending: $("pending"),
  dead: $("dead"),
  deadStat: $("dead-stat"),
  retry: $<HTMLButtonElement>("retry"),
  leader: $("leader"),
  server: $("server"),
  summary: $("summary"),
};

/** `?server=http://127.0.0.1:8080`; by default port 8080 on the page's own host (`npm run serve`). */
const server = (new URLSearchParams(location.search).get("server") ?? `${location.protocol}//${location.hostname}:8080`).replace(/\/+$/, "");
/** One local vault (and bus, and election) per server: another server's log is another list. */
const name = `toka-todos@${server}`;
ui.server.textContent = server;

/**
 * The system clock, except that a retry's backoff ends as soon as the browser is back online:
 * after an outage the outbox goes out at once instead of at the next (up to 10 s) retry.
 */
const clock: Clock = {
  ...systemClock,
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new EventError(ErrorCode.canceled, "sleep aborted"));
      const wake = new AbortController();
      const done = () => {
        removeEventListener("online", onOnline);
        signal?.removeEventListener("abort", onAbort);
      };
      const onOnline = () => wake.abort();
      const onAbort = () => wake.abort();
      addEventListener("online", onOnline);
      signal?.addEventListener("abort", onAbort);
      systemClock.sleep(ms, wake.signal).then(
        () => (done(), resolve()),
        (err: unknown) => (done(), signal?.aborted ? reject(err) : resolve()),
      );
    }),
};

/**
 * Only the leader tab talks to the server, so only its status knows whether the server is
 * reachable. It announces that status to the other tabs of this list on an app channel.
 */
interface Shared {
  online: boolean;
  pending: number;
  deadLetters: number;
  lastError?: string;
}
const statusChannel = new BroadcastChannel(`${name}:status`);

async function start(): Promise<void> {
  const vault = await openIndexedDbVault({ name });
  const bus = createBroadcastChannelBus({ name });
  const leader = createTabLeader({ name });
  const runtime = createEventRuntime({
    vault,
    bus,
    leader,
    remote: createRemoteStore({ transport: createWebTransport({ baseUrl: server }) }),
    retry: { maxMs: 10_000 },
    clock,
  });
  addEventListener("pagehide", () => {
    void runtime.close();
    leader.close(); // the next tab takes over the sync at once
    bus.close();
    statusChannel.close();
  });
  // Back from the back/forward cache after pagehide closed everything: start over.
  addEventListener("pageshow", (e) => void (e.persisted && location.reload()));

  const todos = createTodoList();
  let latest: RuntimeStatus = runtime.status();
  let fromLeader: Shared | undefined;

  // ---- the list: history from the vault, then live from every tab and the server ----
  void (async () => {
    let live = false; // render once for the whole history, then on each change
    for await (const m of runtime.subscribe({ kinds: ["todo.*"], after: 0 })) {
      if (m.type === "event") todos.apply(m.event);
      if (m.type === "caught-up") live = true;
      // Also when an event changed nothing: a checkbox clicked here may have lost to a later toggle.
      if (live) renderList();
    }
  })().catch(fail);

  // ---- status: this tab's when it leads, else the leader's as it announced it ----
  const shared = (s: RuntimeStatus): Shared => ({ online: s.online, pending: s.pending, deadLetters: s.deadLetters, lastError: s.lastError?.message });
  statusChannel.onmessage = (msg: MessageEvent<{ type: "status"; status: Shared } | { type: "hello" }>) => {
    if (msg.data.type === "hello") {
      if (latest.leader) statusChannel.postMessage({ type: "status", status: shared(latest) });
    } else if (!latest.leader) {
      fromLeader = msg.data.status;
      renderStatus();
    }
  };
  statusChannel.postMessage({ type: "hello" });
  void (async () => {
    for await (const s of runtime.statusChanges()) {
      latest = s;
      if (s.leader) {
        fromLeader = undefined;
        statusChannel.postMessage({ type: "status", status: shared(s) });
      }
      renderStatus();
    }
  })().catch(fail);
  addEventListener("online", renderStatus);
  addEventListener("offline", renderStatus);

  function renderStatus(): void {
    const s: Shared = latest.leader || !fromLeader ? shared(latest) : fromLeader;
    const state = !navigator.onLine ? "offline" : s.online ? "online" : s.lastError ? "offline" : "connecting";
    ui.conn.dataset["state"] = state;
    ui.online.textContent = state === "online" ? "Online" : state === "offline" ? "Offline" : "Connecting…";
    ui.conn.title = state === "offline" ? (s.lastError ?? "The browser is offline") + " — changes are kept and sent when back online" : "";
    ui.pending.textContent = String(s.pending);
    ui.dead.textContent = String(s.deadLetters);
    ui.deadStat.classList.toggle("bad", s.deadLetters > 0);
    ui.retry.hidden = s.deadLetters === 0;
    ui.leader.textContent = latest.leader ? "This tab syncs" : "Another tab syncs";
    ui.leader.title = latest.leader ? "This tab is the leader: it pushes and pulls for every tab" : "A follower: its changes reach the server through the leader tab";
  }

  /** Rows by to-do id: updated in place, so a toggled checkbox keeps the keyboard focus. */
  const rows = new Map<string, HTMLLIElement>();

  function renderList(): void {
    const visible = todos.visible();
    const left = visible.filter((t) => !t.done).length;
    const shown = new Set(visible.map((t) => t.id));
    for (const [id, li] of rows) if (!shown.has(id)) (li.remove(), rows.delete(id));
    let prev: HTMLLIElement | undefined;
    for (const todo of visible) {
      let li = rows.get(todo.id);
      if (!li) rows.set(todo.id, (li = item(todo)));
      li.classList.toggle("done", todo.done);
      li.querySelector("input")!.checked = todo.done;
      if ((prev ? prev.nextElementSibling : ui.list.firstElementChild) !== li) {
        if (prev) prev.after(li);
        else ui.list.prepend(li);
      }
      prev = li;
    }
    ui.empty.hidden = visible.length > 0;
    ui.summary.textContent = visible.length === 0 ? "no to-dos" : `${left} of ${visible.length} left`;
  }

  function item(todo: Todo): HTMLLIElement {
    const li = document.createElement("li");
    li.className = "item";
    li.dataset["id"] = todo.id;
    const label = document.createElement("label");
    const box = Object.assign(document.createElement("input"), { type: "checkbox" });
    box.setAttribute("aria-label", `Done: ${todo.title}`);
    box.addEventListener("change", () => void act(() => runtime.commit<Completed>(KINDS.completed, { done: box.checked }, { parents: [todo.header] })));
    const title = Object.assign(document.createElement("span"), { className: "title", textContent: todo.title });
    label.append(box, title);
    const remove = Object.assign(document.createElement("button"), { type: "button", className: "remove", textContent: "×", title: "Delete" });
    remove.setAttribute("aria-label", `Delete: ${todo.title}`);
    remove.addEventListener("click", () => void act(() => runtime.commit(KINDS.removed, {}, { parents: [todo.header] })));
    li.append(label, remove);
    return li;
  }

  // ---- actions: a commit is local and durable at once, online or not ----
  async function act(fn: () => Promise<StoredEvent>): Promise<void> {
    try {
      await fn();
      ui.error.hidden = true;
    } catch (err) {
      showError(err);
    }
  }
  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    const title = ui.input.value.trim();
    if (!title) return;
    ui.input.value = "";
    void act(() => runtime.commit<Added>(KINDS.added, { title }));
  });
  ui.retry.addEventListener("click", () => void runtime.retryDeadLetters().catch(showError));

  expose(runtime);
  for (const el of [ui.input, ui.add]) el.disabled = false;
  ui.input.focus();
  ui.card.removeAttribute("aria-busy");
  document.body.dataset["ready"] = "true";
  renderStatus();
  renderList();
}

function showError(err: unknown): void {
  ui.error.textContent = err instanceof EventError ? `${err.code}: ${err.message}` : String(err);
  ui.error.hidden = false;
}

function fail(err: unknown): void {
  showError(err);
  console.error(err);
}

/** For the browser console: `todoApp.runtime.metrics()`, `await todoApp.runtime.deadLetters()`. */
function expose(runtime: EventRuntime): void {
  (globalThis as { todoApp?: unknown }).todoApp = { runtime, server };
}

start().catch(fail);
