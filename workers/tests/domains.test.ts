import { test } from "node:test";
import assert from "node:assert/strict";
import { domainOf, type CustomHostname } from "../platform/src/domains";

const account = { id: "00000000-0000-4000-8000-000000000001", slug: "acme" };
const pending: CustomHostname = {
  id: "ch-1",
  hostname: "Clients.Acme-Advisers.co.uk",
  status: "pending",
  ssl: { status: "pending_validation", validation_records: [{ txt_name: "_acme-challenge.clients.acme-advisers.co.uk", txt_value: "dcv" }] },
  ownership_verification: { type: "txt", name: "_cf-custom-hostname.clients.acme-advisers.co.uk", value: "owner" },
};

test("a pending custom hostname becomes a pending domain listing what its owner must publish", () => {
  const domain = domainOf(pending, account, "2026-12-01T00:00:00.000Z");
  assert.equal(domain.status, "pending");
  assert.equal(domain.hostname, "clients.acme-advisers.co.uk");
  assert.deepEqual(domain.records, [
    { type: "txt", name: "_cf-custom-hostname.clients.acme-advisers.co.uk", value: "owner" },
    { type: "txt", name: "_acme-challenge.clients.acme-advisers.co.uk", value: "dcv" },
  ]);
  assert.deepEqual([domain.accountId, domain.slug, domain.id], [account.id, "acme", "ch-1"]);
});

test("a domain is active only when the hostname and its certificate both are", () => {
  assert.equal(domainOf({ ...pending, status: "active" }, account, "").status, "pending");
  const active = domainOf({ ...pending, status: "active", ssl: { status: "active", validation_records: [] } }, account, "");
  assert.equal(active.status, "active");
  assert.deepEqual(active.records, []);
});

/** A D1 stand-in holding one domains table in a Map: what refreshDomain reads and writes. */
function fakeDb(rows: Map<string, string>) {
  return {
    prepare(sql: string) {
      return {
        bind(...params: unknown[]) {
          return {
            async run() {
              if (sql.startsWith("UPDATE")) {
                const [id, body] = params as [string, string];
                const changes = rows.has(id) ? 1 : 0;
                if (changes) rows.set(id, body);
                return { meta: { changes } };
              }
              if (sql.startsWith("DELETE")) rows.delete(params[0] as string);
              return { meta: { changes: 1 } };
            },
          };
        },
      };
    },
  } as unknown as D1Database;
}

test("a refreshed domain keeps its account, becomes active when Cloudflare says so, and never comes back once removed", async () => {
  const { refreshDomain } = await import("../platform/src/domains");
  const stored = domainOf(pending, account, "2026-12-01T00:00:00.000Z");
  const rows = new Map([[stored.id, JSON.stringify(stored)]]);
  const active = await refreshDomain(fakeDb(rows), stored, { ...pending, status: "active", ssl: { status: "active" } });
  assert.deepEqual([active?.status, active?.accountId, active?.slug], ["active", account.id, "acme"]);
  assert.equal(JSON.parse(rows.get(stored.id)!).accountId, account.id);

  // Removed meanwhile: the refresh does not insert it again.
  rows.clear();
  assert.equal(await refreshDomain(fakeDb(rows), stored, pending), null);
  assert.equal(rows.size, 0);
  // Gone at Cloudflare: gone here too.
  rows.set(stored.id, JSON.stringify(stored));
  assert.equal(await refreshDomain(fakeDb(rows), stored, null), null);
  assert.equal(rows.size, 0);
});
