// The to-do list as a fold over events. Pure: no DOM, no I/O, so every tab (and any other client)
// that sees the same events shows the same list, whatever order concurrent edits arrived in.
import { type EventHeader, json, type StoredEvent } from "toka-events";

/** The kinds this app writes. `todo.completed` and `todo.removed` name the `todo.added` event as their parent. */
export const KINDS = { added: "todo.added", completed: "todo.completed", removed: "todo.removed" } as const;

/** Payload of `todo.added`. */
export interface Added {
  title: string;
}
/** Payload of `todo.completed`: `done: false` reopens it. */
export interface Completed {
  done: boolean;
}

export interface Todo {
  /** The id of the `todo.added` event. */
  id: string;
  /** That event's header: what later events name as their parent. */
  header: EventHeader;
  title: string;
  done: boolean;
  removed: boolean;
  /** Timestamp and id of the completion event that decided `done` (last writer wins). */
  doneBy?: { at: number; id: string };
}

/** The list, built from events in any order of arrival. */
export interface TodoList {
  /** Folds one event in; false when it changed nothing (another kind, a malformed payload, an unknown to-do). */
  apply(event: StoredEvent): boolean;
  /** The to-dos not removed, oldest first. */
  visible(): Todo[];
  get(id: string): Todo | undefined;
}

export function createTodoList(): TodoList {
  const todos = new Map<string, Todo>();

  function decode<T>(event: StoredEvent): T | undefined {
    try {
      return json.decode(event.payload) as T;
    } catch {
      return undefined; // someone else's bytes: ignore rather than break the list
    }
  }

  /** The to-do a completion or removal is about: its first parent. */
  function target(event: StoredEvent): Todo | undefined {
    const parent = event.header.parents[0];
    return parent ? todos.get(parent.id) : undefined;
  }

  return {
    apply(event) {
      const { header } = event;
      switch (header.kind) {
        case KINDS.added: {
          const v = decode<Added>(event);
          if (todos.has(header.id) || typeof v?.title !== "string") return false;
          todos.set(header.id, { id: header.id, header, title: v.title, done: false, removed: false });
          return true;
        }
        case KINDS.completed: {
          const v = decode<Completed>(event);
          const todo = target(event);
          if (!todo || typeof v?.done !== "boolean") return false;
          // Concurrent toggles from several devices: the latest (timestamp, then id) wins everywhere.
          const by = { at: header.timestamp, id: header.id };
          if (todo.doneBy && (todo.doneBy.at > by.at || (todo.doneBy.at === by.at && todo.doneBy.id > by.id))) return false;
          todo.done = v.done;
          todo.doneBy = by;
          return true;
        }
        case KINDS.removed: {
          const todo = target(event);
          if (!todo || todo.removed) return false;
          todo.removed = true; // a removal wins over any later toggle
          return true;
        }
        default:
          return false;
      }
    },
    visible: () => [...todos.values()].filter((t) => !t.removed).sort((a, b) => a.header.timestamp - b.header.timestamp || (a.id < b.id ? -1 : 1)),
    get: (id) => todos.get(id),
  };
}
