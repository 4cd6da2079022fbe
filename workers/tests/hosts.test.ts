import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyHost, normalizeHost } from "../platform/src/routes/hosts";

const env = { TENANT_DOMAIN: "localhost", PLATFORM_HOSTS: "127.0.0.1,[::1]" };

test("a host name is compared as DNS compares it: case, port and a trailing dot do not matter", () => {
  for (const host of ["acme.localhost", "ACME.localhost", "acme.localhost.", "acme.localhost:8787", "Acme.LocalHost.:443"]) {
    assert.equal(normalizeHost(host), "acme.localhost", host);
    assert.deepEqual(classifyHost(env, host), { kind: "tenant", slug: "acme" }, host);
  }
  assert.equal(normalizeHost("[::1]:8080"), "[::1]");
});

test("the tenant domain itself and the listed hosts reach the platform", () => {
  for (const host of ["localhost", "localhost:8787", "LOCALHOST.", "127.0.0.1:1234", "[::1]:80"]) {
    assert.deepEqual(classifyHost(env, host), { kind: "platform" }, host);
  }
});

test("a near miss names no tenant: it is never a tenant nor the platform", () => {
  const nearMisses = [
    "acme.localhost.evil", // a look-alike under another domain
    "x.acme.localhost", // a deeper subdomain
    "acme-.localhost", // not a slug
    "-acme.localhost",
    `${"a".repeat(41)}.localhost`, // longer than a slug may be
    "evil.com",
    "localhost.evil",
    "127.0.0.2",
    ".localhost",
  ];
  for (const host of nearMisses) assert.equal(classifyHost(env, host).kind, "unknown", host);
});

test("a production tenant domain works the same way", () => {
  const prod = { TENANT_DOMAIN: "app.example.com", PLATFORM_HOSTS: "" };
  assert.deepEqual(classifyHost(prod, "acme.app.example.com"), { kind: "tenant", slug: "acme" });
  assert.deepEqual(classifyHost(prod, "app.example.com"), { kind: "platform" });
  assert.equal(classifyHost(prod, "acme.example.com").kind, "unknown");
  assert.equal(classifyHost(prod, "127.0.0.1").kind, "unknown");
});
