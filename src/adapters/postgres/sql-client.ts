/** The result of one SQL statement: its rows, with column names as keys. */
export interface SqlResult {
  rows: Record<string, unknown>[];
}

/**
 * What the Postgres store needs from a SQL client: one statement per `query` with `$1…` params.
 * PGlite fits as it is; `pg` (a Pool) fits through {@link createPgClient}; anything else with the
 * same shape works too. `listen` is optional: without it subscribers rely on polling alone.
 */
export interface SqlClient {
  query(text: string, params?: unknown[]): Promise<SqlResult>;
  /**
   * Calls `onNotify` with each NOTIFY payload on `channel`, and with `undefined` after a
   * reconnect (notifications may have been lost meanwhile). Resolves with an unsubscribe function.
   */
  listen?(channel: string, onNotify: (payload: string | undefined) => void): Promise<() => Promise<void>>;
}

/** The parts of a `pg` Pool that {@link createPgClient} uses. */
export interface PgPoolLike {
  query(text: string, params?: unknown[]): Promise<SqlResult>;
  connect(): Promise<PgPoolClientLike>;
}

/** A client checked out of a `pg` Pool. */
export interface PgPoolClientLike {
  query(text: string, params?: unknown[]): Promise<SqlResult>;
  on(event: "notification", cb: (msg: { channel: string; payload?: string }) => void): unknown;
  on(event: "error" | "end", cb: (err?: unknown) => void): unknown;
  removeAllListeners(event?: string): unknown;
  release(err?: boolean | Error): void;
}

/** Options of {@link createPgClient}. */
export interface PgClientOptions {
  /** Delay before re-establishing a dropped listener connection (default 250 ms, doubling to 5 s). */
  reconnectMs?: number;
}

/**
 * Adapts a `pg` Pool: queries go to the pool; `listen` holds one dedicated connection per
 * channel and re-establishes it when it drops, telling listeners so they re-read.
 *
 * @example
 * const client = createPgClient(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 */
export function createPgClient(pool: PgPoolLike, opts: PgClientOptions = {}): SqlClient {
  const base = opts.reconnectMs ?? 250;
  return {
    query: (text, params) => pool.query(text, params),
    async listen(channel, onNotify) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new TypeError(`invalid channel name ${channel}`);
      let stopped = false;
      let conn: PgPoolClientLike | undefined;
      let delay = base;
      let timer: ReturnType<typeof setTimeout> | undefined;

      const connect = async (): Promise<void> => {
        const c = await pool.connect();
        c.on("notification", (m) => {
          if (m.channel === channel) onNotify(m.payload);
        });
        const lost = () => {
          if (conn !== c) return;
          conn = undefined;
          c.removeAllListeners("notification");
          c.release(true);
          if (!stopped) retry();
        };
        // Kept for the connection's life: an "error" with no listener would crash the process.
        c.on("error", lost);
        c.on("end", lost);
        try {
          await c.query(`LISTEN ${channel}`);
        } catch (err) {
          c.removeAllListeners("notification");
          c.release(true);
          throw err;
        }
        if (stopped) {
          // Stopped while this (re)connect was on its way: give the connection back, not keep it.
          c.removeAllListeners("notification");
          c.release(true);
          return;
        }
        conn = c;
        delay = base;
      };

      const retry = () => {
        timer = setTimeout(() => {
          if (stopped) return;
          connect().then(
            () => {
              if (!stopped) onNotify(undefined);
            },
            () => {
              delay = Math.min(delay * 2, 5000);
              if (!stopped) retry();
            },
          );
        }, delay);
      };

      await connect();
      return async () => {
        stopped = true;
        clearTimeout(timer);
        const c = conn;
        conn = undefined;
        if (!c) return;
        // The error listener stays: a late error on a released connection must not crash.
        c.removeAllListeners("notification");
        try {
          await c.query(`UNLISTEN ${channel}`);
          c.release();
        } catch {
          c.release(true);
        }
      };
    },
  };
}
