import { types } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestPglite, type TestPglite } from "../../../test/support/pglite.js";
import { createEvent, type Event } from "../../core/index.js";
import { migrate } from "./migrations.js";
import { byteaFromHex, byteaToHex } from "./pglite-types.js";
import { createPostgresStore } from "./postgres-store.js";

const samples = [
  new Uint8Array(0),
  Uint8Array.from({ length: 256 }, (_, i) => i),
  crypto.getRandomValues(new Uint8Array(65_536)),
  crypto.getRandomValues(new Uint8Array(256)).subarray(17, 200), // a view with an offset
];

describe("PGlite bytea codecs", () => {
  it("write the same text as PGlite's own serializer and read back what they wrote", () => {
    const defaults = types.serializers[types.BYTEA]!;
    for (const bytes of samples) {
      expect(byteaToHex(bytes)).toBe(defaults(bytes));
      expect(byteaFromHex(byteaToHex(bytes))).toEqual(Uint8Array.from(bytes));
    }
    expect(byteaFromHex("\\xABcd")).toEqual(new Uint8Array([0xab, 0xcd]));
  });

  it("refuse what is not bytes or not hex with a typed error", () => {
    for (const bad of ["0102", [1, 2], undefined]) {
      expect(() => byteaToHex(bad)).toThrow(expect.objectContaining({ name: "EventError", code: "invalid_argument" }));
    }
    for (const bad of ["0102", "\\x012", "\\x0g", "\\x\u00e9\u00e9", "\\001"]) {
      expect(() => byteaFromHex(bad), bad).toThrow(expect.objectContaining({ name: "EventError", code: "data_loss" }));
    }
  });

  describe("in PGlite", () => {
    let t: TestPglite;
    beforeAll(async () => {
      t = await openTestPglite();
    });
    afterAll(() => t.close());

    it("carry bytea parameters and results through the database unchanged", async () => {
      for (const bytes of samples) {
        const { rows } = await t.db.query<{ b: Uint8Array; n: number; h: string }>(
          "SELECT $1::bytea AS b, length($1::bytea) AS n, encode($1::bytea, 'hex') AS h",
          [bytes],
        );
        expect(rows[0]!.n).toBe(bytes.length);
        expect(rows[0]!.h).toBe(Buffer.from(bytes).toString("hex"));
        expect(rows[0]!.b).toEqual(Uint8Array.from(bytes));
      }
    });
  });

  it("the store commits and reads the same events on a PGlite with PGlite's own codecs", async () => {
    const events: Event[] = samples.map((payload) => createEvent({ kind: "t.blob", payload }));
    const seen: Uint8Array[][] = [];
    for (const pgliteDefaults of [true, false]) {
      const t = await openTestPglite({ pgliteDefaults });
      try {
        await migrate(t.db);
        const store = createPostgresStore({ client: t.db });
        expect((await store.commit(events)).map((r) => r.status)).toEqual(events.map(() => "stored"));
        const read = [];
        for await (const e of store.read()) read.push(e.payload);
        expect(await store.payload(events[2]!.header.digest)).toEqual(events[2]!.payload);
        seen.push(read);
        await store.close();
      } finally {
        await t.close();
      }
    }
    expect(seen[0]).toEqual(events.map((e) => Uint8Array.from(e.payload)));
    expect(seen[1]).toEqual(seen[0]);
  });
});
