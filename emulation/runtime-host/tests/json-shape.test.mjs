// The relay's check of a tenant's export (json-shape.mjs): the same answer as JSON.parse, without
// building the values — checked against JSON.parse on chosen texts and on many mutated ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_DEPTH, arrayOfObjectsItems } from "../json-shape.mjs";

/** What the check must answer, from JSON.parse: the items' text's value, or undefined. */
function expected(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const isObject = (item) => item !== null && typeof item === "object" && !Array.isArray(item);
  return Array.isArray(value) && value.every(isObject) && depth(value) <= MAX_DEPTH ? value : undefined;
}

function depth(value) {
  if (value === null || typeof value !== "object") return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depth));
}

/** The check's answer as a value: the items it returned, parsed back inside brackets. */
function checked(text) {
  const items = arrayOfObjectsItems(text);
  return items === undefined ? undefined : JSON.parse(`[${items}]`);
}

test("what JSON.parse reads as an array of objects is accepted, and its items are the text between the brackets", () => {
  for (const text of [
    "[]",
    " \t\n[ \r\n ] \n",
    '[{}]',
    '[{"a":1},{"b":[1,-2.5,3e10,4E-2,-0,0.0,1e+2]},{"c":{"d":[[],{}]}}]',
    '[ { "name" : "GET /x" , "ok" : true , "no" : false , "nothing" : null } ]',
    '[{"s":"quote \\" backslash \\\\ slash \\/ \\b\\f\\n\\r\\t \\u00e9\\uD83D\\uDE00 é 😀"}]',
    JSON.stringify([{ name: ']}]}]},{"resource":{"attributes":[]}},{"x":[{"y":"' }]),
  ]) {
    assert.deepEqual(checked(text), JSON.parse(text), text);
  }
  assert.equal(arrayOfObjectsItems(' [ {"a":1} , {"b":2} ] '), '{"a":1} , {"b":2}');
  assert.equal(arrayOfObjectsItems("[ ]"), "");
});

test("anything else is refused: other values, broken JSON, text around the array", () => {
  for (const text of [
    "", " ", "[", "]", "{}", '{"a":1}', "null", "[null]", "[1]", '["x"]', "[[]]", "[{},]", "[,{}]", "[{}{}]",
    "[{}][{}]", "[{}],[{}]", '[{}],"resource":{}', "[{}]x", '[{"a"}]', '[{"a":}]', '[{"a" 1}]', '[{a:1}]', "[{'a':1}]",
    '[{"a":1,}]', '[{"a":01}]', '[{"a":1.}]', '[{"a":.5}]', '[{"a":-}]', '[{"a":1e}]', '[{"a":+1}]', '[{"a":NaN}]',
    '[{"a":Infinity}]', '[{"a":tru}]', '[{"a":nul}]', '[{"a":"x}]', '[{"a":"\\x"}]', '[{"a":"\\u12"}]', '[{"a":"\\u12G4"}]',
    '[{"a":"tab\there"}]', '[{"a":"new\nline"}]', '[{"a":"\\', "\uFEFF[{}]", "\u00a0[{}]", '[{"a":[1,]}]', '[{"a":[1 2]}]',
  ]) {
    assert.equal(expected(text), undefined, `JSON.parse should refuse ${JSON.stringify(text)} too`);
    assert.equal(arrayOfObjectsItems(text), undefined, text);
  }
});

test(`containers nested ${MAX_DEPTH} deep, the outer array counted, are accepted; deeper, refused`, () => {
  const nested = (levels) => `[${"{\"a\":".repeat(levels - 1)}1${"}".repeat(levels - 1)}]`;
  assert.deepEqual(checked(nested(MAX_DEPTH)), JSON.parse(nested(MAX_DEPTH)));
  assert.equal(arrayOfObjectsItems(nested(MAX_DEPTH + 1)), undefined);
  const arrays = (levels) => `[{"a":${"[".repeat(levels - 2)}1${"]".repeat(levels - 2)}}]`;
  assert.deepEqual(checked(arrays(MAX_DEPTH)), JSON.parse(arrays(MAX_DEPTH)));
  assert.equal(arrayOfObjectsItems(arrays(MAX_DEPTH + 1)), undefined);
  assert.equal(arrayOfObjectsItems(`[{"a":${"[".repeat(100_000)}`), undefined, "no stack overflow, however deep");
});

test("on thousands of mutated exports the check answers as JSON.parse does", () => {
  // mulberry32: the same texts on every run.
  let seed = 20261202;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const below = (n) => Math.floor(random() * n);
  const pick = (list) => list[below(list.length)];
  const strings = ["", "x", "GET /a", 'quo"te', "back\\slash", "é 😀", "tab\t", "\u0001", ']}]},{"resource":'];
  const numbers = [0, -0.5, 12, 3e21, -4e-7, 1.25];
  const value = (levels) => {
    const kind = below(levels > 0 ? 6 : 4);
    if (kind === 0) return pick(strings);
    if (kind === 1) return pick(numbers);
    if (kind === 2) return pick([true, false, null]);
    if (kind === 3) return levels > 0 ? object(levels - 1) : pick(strings);
    if (kind === 4) return Array.from({ length: below(3) }, () => value(levels - 1));
    return object(levels - 1);
  };
  const object = (levels) => Object.fromEntries(Array.from({ length: below(3) }, () => [pick(strings), value(levels)]));
  // Short texts, so that an edit often lands on a bracket, a quote, an escape or a number.
  const exports = Array.from({ length: 200 }, () => JSON.stringify(Array.from({ length: below(3) + 1 }, () => object(2)), null, below(2) === 0 ? 0 : 1));
  // JSON's own characters, and others near them: controls, a lone surrogate, Unicode spaces and line separators, a BOM.
  const alphabet = [..."[]{}\",:\\/ \t\r\nu0123456789abcdefABCDEF.eE+-truefalsnl()';\u0000\u0001\u000b\u000c\u001f\u00a0\u00e9\u2028\u2029\ufeff", "\ud800"];
  let accepted = 0;
  for (let i = 0; i < 40_000; i++) {
    const chars = [...pick(exports)];
    for (let edits = 1 + below(2); edits > 0; edits--) {
      const at = below(chars.length + 1);
      const kind = random();
      if (kind < 0.3) chars.splice(at, 1);
      else if (kind < 0.6) chars.splice(at, 0, pick(alphabet));
      else if (kind < 0.8) chars[at] = pick(alphabet);
      else chars.splice(at, 0, ...chars.slice(below(chars.length), below(chars.length)));
    }
    const text = chars.join("");
    const want = expected(text);
    assert.deepEqual(checked(text), want, text);
    if (want !== undefined) accepted += 1;
  }
  // Both answers occur often enough to mean something.
  assert.ok(accepted > 2000 && accepted < 38_000, `accepted ${accepted} of 40000`);
});
