import { test } from "node:test";
import assert from "node:assert/strict";
import { CloudflareApi } from "../platform/src/provisioning/cloudflare-api";
import type { PlatformEnv } from "../platform/src/env";

const env = { CLOUDFLARE_ACCOUNT_ID: "acc", CLOUDFLARE_API_BASE: "http://api.test/client/v4/", CLOUDFLARE_API_TOKEN: "t" } as PlatformEnv;

/** Serves `total` namespaces as Cloudflare pages them, recording each page asked for. */
function pagedApi(total: number) {
  const asked: string[] = [];
  const fetch = async (input: RequestInfo | URL) => {
    const url = new URL(String(input));
    asked.push(url.search);
    const page = Number(url.searchParams.get("page") ?? 1);
    const perPage = Number(url.searchParams.get("per_page") ?? 20);
    const all = Array.from({ length: total }, (_, i) => ({ id: `ns-${i}`, title: `acct-${i}-cache` }));
    const result = all.slice((page - 1) * perPage, page * perPage);
    return Response.json({ success: true, errors: [], messages: [], result, result_info: { page, per_page: perPage, count: result.length, total_count: total } });
  };
  return { asked, fetch };
}

test("provisioning lists every namespace, page after page, not just the first page", async (t) => {
  const { asked, fetch } = pagedApi(250);
  t.mock.method(globalThis, "fetch", fetch);

  const namespaces = await new CloudflareApi(env).listNamespaces();

  assert.equal(namespaces.length, 250);
  assert.equal(new Set(namespaces.map((n) => n.id)).size, 250);
  assert.deepEqual(asked, ["?page=1&per_page=100", "?page=2&per_page=100", "?page=3&per_page=100"]);
});

test("a list that fills its last page exactly ends at the empty page after it", async (t) => {
  const { asked, fetch } = pagedApi(200);
  t.mock.method(globalThis, "fetch", fetch);

  assert.equal((await new CloudflareApi(env).listNamespaces()).length, 200);
  assert.equal(asked.length, 3);
});
