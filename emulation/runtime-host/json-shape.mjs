// Checks JSON text without building it: what the OTLP relay (otlp-relay.js) needs to know of a
// tenant's export before putting it inside an envelope, at the cost of one pass over its characters.
// JSON.parse would answer the same question, but it builds every span and attribute as objects only to
// drop them: in a relay that sees each batch once, that allocation was most of what checking it cost.

/** Containers nested deeper than this, the outer array counted, are refused: nothing the recorder writes comes near it, and the check's stack stays bounded. */
export const MAX_DEPTH = 64;

// Character codes.
const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, MINUS = 0x2d, PLUS = 0x2b, DOT = 0x2e;
const OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d, OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d;
const ZERO = 0x30, NINE = 0x39;

/**
 * The items of `text`, one JSON array whose items are all objects (RFC 8259, as JSON.parse reads it,
 * containers nested at most MAX_DEPTH deep), as the JSON text between its brackets ("" for `[]`); undefined when
 * `text` is anything else. Whole objects, comma-separated: put inside another container, they cannot
 * close it.
 */
export function arrayOfObjectsItems(text) {
  const scan = new Scan(text);
  scan.space();
  const open = scan.at;
  if (text.charCodeAt(open) !== OPEN_ARRAY || !scan.array(1, OPEN_OBJECT)) return undefined;
  const close = scan.at - 1;
  scan.space();
  if (scan.at !== text.length) return undefined;
  return text.slice(open + 1, close).trim();
}

/** A position in JSON text, moved past one token or value at a time; each step says whether the text held one. */
class Scan {
  at = 0;

  constructor(text) {
    this.text = text;
  }

  space() {
    const text = this.text;
    let at = this.at;
    for (let code = text.charCodeAt(at); code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09; code = text.charCodeAt(++at));
    this.at = at;
  }

  /** One value at `depth` (itself, if a container, and the containers it is in), from the current position. */
  value(depth) {
    const code = this.text.charCodeAt(this.at);
    if (code === QUOTE) return this.string();
    if (code === OPEN_OBJECT) return depth <= MAX_DEPTH && this.object(depth);
    if (code === OPEN_ARRAY) return depth <= MAX_DEPTH && this.array(depth);
    if (code === MINUS || (code >= ZERO && code <= NINE)) return this.number();
    return this.word("true") || this.word("false") || this.word("null");
  }

  object(depth) {
    const text = this.text;
    this.at += 1;
    this.space();
    if (text.charCodeAt(this.at) === CLOSE_OBJECT) return (this.at += 1), true;
    for (;;) {
      if (text.charCodeAt(this.at) !== QUOTE || !this.string()) return false;
      this.space();
      if (text.charCodeAt(this.at++) !== COLON) return false;
      this.space();
      if (!this.value(depth + 1)) return false;
      this.space();
      const next = text.charCodeAt(this.at++);
      if (next === CLOSE_OBJECT) return true;
      if (next !== COMMA) return false;
      this.space();
    }
  }

  /** An array, from its `[`; with `itemsOpenWith` (a character code), only items that open with it. */
  array(depth, itemsOpenWith = undefined) {
    const text = this.text;
    this.at += 1;
    this.space();
    if (text.charCodeAt(this.at) === CLOSE_ARRAY) return (this.at += 1), true;
    for (;;) {
      if (itemsOpenWith !== undefined && text.charCodeAt(this.at) !== itemsOpenWith) return false;
      if (!this.value(depth + 1)) return false;
      this.space();
      const next = text.charCodeAt(this.at++);
      if (next === CLOSE_ARRAY) return true;
      if (next !== COMMA) return false;
      this.space();
    }
  }

  /** A string, from its opening quote: no raw control character, only JSON's escapes. */
  string() {
    const text = this.text;
    let at = this.at + 1;
    for (;;) {
      const code = text.charCodeAt(at++);
      if (code === QUOTE) break;
      // NaN (the text ended) fails this too.
      if (!(code >= 0x20)) return false;
      if (code !== BACKSLASH) continue;
      const escaped = text.charCodeAt(at++);
      if (escaped === 0x75 /* u */) {
        for (let end = at + 4; at < end; at++) if (!isHex(text.charCodeAt(at))) return false;
      } else if (!ESCAPES.has(escaped)) {
        return false;
      }
    }
    this.at = at;
    return true;
  }

  /** -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
  number() {
    const text = this.text;
    let at = this.at;
    if (text.charCodeAt(at) === MINUS) at += 1;
    if (text.charCodeAt(at) === ZERO) at += 1;
    else if (isDigit(text.charCodeAt(at))) while (isDigit(text.charCodeAt(at))) at += 1;
    else return false;
    if (text.charCodeAt(at) === DOT) {
      at += 1;
      if (!isDigit(text.charCodeAt(at))) return false;
      while (isDigit(text.charCodeAt(at))) at += 1;
    }
    const e = text.charCodeAt(at);
    if (e === 0x65 || e === 0x45) {
      at += 1;
      const sign = text.charCodeAt(at);
      if (sign === PLUS || sign === MINUS) at += 1;
      if (!isDigit(text.charCodeAt(at))) return false;
      while (isDigit(text.charCodeAt(at))) at += 1;
    }
    this.at = at;
    return true;
  }

  word(word) {
    if (!this.text.startsWith(word, this.at)) return false;
    this.at += word.length;
    return true;
  }
}

/** The characters a backslash may escape: " \ / b f n r t. */
const ESCAPES = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

function isDigit(code) {
  return code >= ZERO && code <= NINE;
}

function isHex(code) {
  return (code >= ZERO && code <= NINE) || (code >= 0x61 && code <= 0x66) || (code >= 0x41 && code <= 0x46);
}
