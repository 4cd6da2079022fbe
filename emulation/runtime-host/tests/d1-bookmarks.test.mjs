import { test } from "node:test";
import assert from "node:assert/strict";
import { BOOKMARK, bookmarkKey, readBookmark, signBookmark } from "../d1-bookmarks.mjs";

const secret = "a1".repeat(32);

test("a bookmark reads back as the log position it was signed for, beyond 32 bits too", async () => {
  const key = await bookmarkKey(secret);
  for (const seq of [0, 1, 41, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7]) {
    const bookmark = await signBookmark(key, "db-1", seq);
    assert.match(bookmark, BOOKMARK);
    assert.equal(await readBookmark(key, "db-1", bookmark), seq);
  }
});

test("bookmarks compare as text in the order of their positions, as D1's do", async () => {
  const key = await bookmarkKey(secret);
  const positions = [3, 250, 2 ** 32 + 1, 16, 2 ** 33];
  const bookmarks = await Promise.all(positions.map((seq) => signBookmark(key, "db-1", seq)));
  const byText = [...bookmarks].sort();
  assert.deepEqual(await Promise.all(byText.map((b) => readBookmark(key, "db-1", b))), [...positions].sort((a, b) => a - b));
});

test("another database's, a forged, an altered or a malformed bookmark names no position", async () => {
  const key = await bookmarkKey(secret);
  const bookmark = await signBookmark(key, "db-1", 42);
  assert.equal(await readBookmark(key, "db-2", bookmark), undefined, "signed for another database");
  assert.equal(await readBookmark(await bookmarkKey("b2".repeat(32)), "db-1", bookmark), undefined, "another secret");
  const moved = bookmark.replace(/-0000002a-/, "-0000002b-");
  assert.notEqual(moved, bookmark);
  assert.equal(await readBookmark(key, "db-1", moved), undefined, "position changed, signature kept");
  const otherEpoch = "00000002" + bookmark.slice(8);
  assert.equal(await readBookmark(key, "db-1", otherEpoch), undefined, "another epoch");
  for (const bad of ["", "first-primary", bookmark.toUpperCase(), bookmark + "0", null, 42]) {
    assert.equal(await readBookmark(key, "db-1", bad), undefined, String(bad));
  }
});
