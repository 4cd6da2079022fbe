// D1 bookmarks as the emulated read replication (d1-replication.js) issues and reads them: D1's
// shape — four hex groups, 8-8-8-32, ordered as the log positions they name when compared as text —
// signed with the database's own secret, so a malformed, forged or other database's bookmark is
// refused as D1 refuses one. Loaded into each stack beside d1-replication.js; unit-tested in Node.

/** The shape of a bookmark: epoch, log position (high and low 32 bits), signature. */
export const BOOKMARK = /^([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]{32})$/;
const EPOCH = 1;

/** The signing key from the database's secret (hex, kept in its settings row). */
export function bookmarkKey(secretHex) {
  const bytes = new Uint8Array(secretHex.match(/../g).map((h) => Number.parseInt(h, 16)));
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** The bookmark of log position `seq` of database `databaseId`. */
export async function signBookmark(key, databaseId, seq) {
  const prefix = `${hex8(EPOCH)}-${hex8(Math.floor(seq / 2 ** 32))}-${hex8(seq % 2 ** 32)}`;
  return `${prefix}-${await mac(key, databaseId, prefix)}`;
}

/** The log position a bookmark names, or undefined when it is malformed or this database did not sign it. */
export async function readBookmark(key, databaseId, bookmark) {
  const match = typeof bookmark === "string" ? BOOKMARK.exec(bookmark) : null;
  if (!match || Number.parseInt(match[1], 16) !== EPOCH) return undefined;
  if ((await mac(key, databaseId, `${match[1]}-${match[2]}-${match[3]}`)) !== match[4]) return undefined;
  return Number.parseInt(match[2], 16) * 2 ** 32 + Number.parseInt(match[3], 16);
}

async function mac(key, databaseId, prefix) {
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${databaseId}:${prefix}`));
  return [...new Uint8Array(signature).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const hex8 = (n) => n.toString(16).padStart(8, "0");
