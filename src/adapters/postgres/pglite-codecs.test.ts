import { describe, expect, it } from "vitest";
import { useMigratedPglite } from "../../../test/support/pglite.js";
import { createEvent, type Event } from "../../core/index.js";
import { byteaFromHex, pgliteQueryOptions } from "./pglite-codecs.js";
import { createPostgresStore } from "./postgres-store.js";
import { createPgClient, type SqlClient } from "./sql-client.js";

const samples = [
  new Uint8Array(0),
  Uint8Array.from({ length: 256 }, (_, i) => i),
  crypto.getRandomValues(new Uint8Array(65_536)),
  crypto.getRandomValues(new Uint8Array(256)).subarray(17, 200), // a view with an offset
];
const hex = (b: Uint8Array) => `\\x${Buffer.from(b).toString("hex")}`;

describe("PGlite codecs", () => {
  it("byteaFromHex reads Postgres' hex output, either case", () => {
    for (const bytes of samples) expect(byteaFromHex(hex(bytes))).toEqual(Uint8Array.from(bytes));
    expect(byteaFromHex("\\xABcd")).toEqual(new Uint8Array([0xab, 0xcd]));
  });

  it("byteaFromHex refuses what is not hex output with data_loss", () => {
    for (const bad of ["0102", "\\x012", "\\x0g", "\\x\u00e9\u00e9", "\\001"]) {
      expect(() => byteaFromHex(bad), bad).toThrow(expect.objectContaining({ name: "EventError", code: "data_loss" }));
    }
  });

  it("are used for PGlite only: other clients get query(text, params) and nothing more", () => {
    const plain: SqlClient = { query: async () => ({ rows: [] }) };
    expect(pgliteQueryOptions(plain)).toBeUndefined();
    expect(pgliteQueryOptions(createPgClient({ query: plain.query, connect: async () => Promise.reject(new Error("no")) }))).toBeUndefined();
  });

  describe("in PGlite", () => {
    const db = useMigratedPglite();

    it("carry bytea parameters (sent as binary) and results through the database unchanged", async () => {
      const opts = pgliteQueryOptions(db())!;
      expect(opts).toBeDefined();
      for (const bytes of samples) {
        const { rows } = await db().query<{ b: Uint8Array; n: number; h: string }>(
          "SELECT $1::bytea AS b, length($1::bytea) AS n, encode($1::bytea, 'hex') AS h",
          [bytes],
          opts,
        );
        expect(rows[0]!.n).toBe(bytes.length);
        expect(`\\x${rows[0]!.h}`).toBe(hex(bytes));
        expect(rows[0]!.b).toEqual(Uint8Array.from(bytes));
      }
      await expect(db().query("SELECT $1::bytea AS b", ["not bytes"], opts)).rejects.toMatchObject({ code: "invalid_argument" });
    });

    it("leave the PGlite instance as it was: its own codecs serve bytea and bytea[] in other queries", async () => {
      const store = createPostgresStore({ client: db() });
      const events: Event[] = samples.map((payload) => createEvent({ kind: "t.blob", payload }));
      await store.commit(events);
      const read = [];
      for await (const e of store.read()) read.push(e.payload);
      expect(read).toEqual(events.map((e) => Uint8Array.from(e.payload)));
      expect(await store.payload(events[2]!.header.digest)).toEqual(events[2]!.payload);
      const { rows } = await db().query<{ n: number[] }>("SELECT array(SELECT length(x) FROM unnest($1::bytea[]) x) AS n", [[samples[1], samples[3]]]);
      expect(rows[0]!.n).toEqual([256, 183]);
      await store.close();
    });
  });
});
