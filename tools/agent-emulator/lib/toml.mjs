// A small TOML reader for the agent config the manager renders: tables, arrays of tables,
// dotted keys, basic and literal strings, integers, floats, booleans, arrays and inline
// tables. Multi-line strings and dates are refused with an error naming the line.

export class TomlError extends Error {}

export function parseToml(text) {
  const root = {};
  let table = root;
  const p = { text, i: 0, line: 1 };

  const fail = (message) => {
    throw new TomlError(`line ${p.line}: ${message}`);
  };
  const peek = () => p.text[p.i];
  const skipSpaces = () => {
    while (peek() === " " || peek() === "\t") p.i++;
  };
  const skipComment = () => {
    if (peek() === "#") while (p.i < p.text.length && peek() !== "\n") p.i++;
  };
  const skipBlank = () => {
    for (;;) {
      skipSpaces();
      skipComment();
      if (peek() === "\n" || peek() === "\r") {
        if (peek() === "\n") p.line++;
        p.i++;
      } else return;
    }
  };
  const endOfLine = () => {
    skipSpaces();
    skipComment();
    if (p.i < p.text.length && peek() !== "\n" && peek() !== "\r")
      fail(`unexpected ${JSON.stringify(peek())}`);
  };

  const basicString = () => {
    if (p.text.startsWith('"""', p.i)) fail("multi-line strings are not supported");
    p.i++;
    let out = "";
    for (;;) {
      const c = p.text[p.i++];
      if (c === undefined || c === "\n") fail("unterminated string");
      if (c === '"') return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = p.text[p.i++];
      const simple = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\" }[e];
      if (simple !== undefined) out += simple;
      else if (e === "u" || e === "U") {
        const n = e === "u" ? 4 : 8;
        const hex = p.text.slice(p.i, p.i + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail("bad unicode escape");
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        p.i += n;
      } else fail(`bad escape \\${e}`);
    }
  };
  const literalString = () => {
    if (p.text.startsWith("'''", p.i)) fail("multi-line strings are not supported");
    const end = p.text.indexOf("'", p.i + 1);
    const nl = p.text.indexOf("\n", p.i + 1);
    if (end < 0 || (nl >= 0 && nl < end)) fail("unterminated string");
    const s = p.text.slice(p.i + 1, end);
    p.i = end + 1;
    return s;
  };
  const key = () => {
    skipSpaces();
    const c = peek();
    if (c === '"') return basicString();
    if (c === "'") return literalString();
    const m = /^[A-Za-z0-9_-]+/.exec(p.text.slice(p.i));
    if (!m) fail("expected a key");
    p.i += m[0].length;
    return m[0];
  };
  const dottedKey = () => {
    const parts = [key()];
    for (;;) {
      skipSpaces();
      if (peek() !== ".") return parts;
      p.i++;
      parts.push(key());
    }
  };
  const value = () => {
    skipSpaces();
    const c = peek();
    if (c === '"') return basicString();
    if (c === "'") return literalString();
    if (c === "[") {
      p.i++;
      const arr = [];
      for (;;) {
        skipBlank();
        if (peek() === "]") {
          p.i++;
          return arr;
        }
        arr.push(value());
        skipBlank();
        if (peek() === ",") p.i++;
        else if (peek() !== "]") fail("expected , or ] in array");
      }
    }
    if (c === "{") {
      p.i++;
      const obj = {};
      skipSpaces();
      if (peek() === "}") {
        p.i++;
        return obj;
      }
      for (;;) {
        const path = dottedKey();
        skipSpaces();
        if (peek() !== "=") fail("expected = in inline table");
        p.i++;
        assign(obj, path, value());
        skipSpaces();
        if (peek() === ",") p.i++;
        else if (peek() === "}") {
          p.i++;
          return obj;
        } else fail("expected , or } in inline table");
      }
    }
    const m = /^[^\s,\]}#]+/.exec(p.text.slice(p.i));
    if (!m) fail("expected a value");
    const word = m[0];
    p.i += word.length;
    if (word === "true") return true;
    if (word === "false") return false;
    if (word === "inf" || word === "+inf") return Number.POSITIVE_INFINITY;
    if (word === "-inf") return Number.NEGATIVE_INFINITY;
    if (/^[+-]?nan$/.test(word)) return Number.NaN;
    const clean = word.replaceAll("_", "");
    if (/^[+-]?\d+$/.test(clean)) return Number(clean);
    if (/^0x[0-9a-fA-F]+$/.test(clean)) return Number.parseInt(clean.slice(2), 16);
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(clean)) return Number(clean);
    fail(`unsupported value ${word}`);
  };
  const assign = (obj, path, v) => {
    let target = obj;
    for (const part of path.slice(0, -1)) {
      if (target[part] === undefined) target[part] = {};
      target = target[part];
      if (typeof target !== "object" || Array.isArray(target)) fail(`${path.join(".")} redefined`);
    }
    const last = path[path.length - 1];
    if (Object.hasOwn(target, last)) fail(`${path.join(".")} defined twice`);
    target[last] = v;
  };
  const tableAt = (path, arrayTable) => {
    let target = root;
    path.forEach((part, n) => {
      const lastPart = n === path.length - 1;
      if (lastPart && arrayTable) {
        if (target[part] === undefined) target[part] = [];
        if (!Array.isArray(target[part])) fail(`${path.join(".")} is not an array of tables`);
        const fresh = {};
        target[part].push(fresh);
        target = fresh;
        return;
      }
      if (target[part] === undefined) target[part] = {};
      const next = target[part];
      target = Array.isArray(next) ? next[next.length - 1] : next;
      if (typeof target !== "object") fail(`${path.join(".")} is not a table`);
    });
    return target;
  };

  for (;;) {
    skipBlank();
    if (p.i >= p.text.length) return root;
    if (peek() === "[") {
      const arrayTable = p.text[p.i + 1] === "[";
      p.i += arrayTable ? 2 : 1;
      const path = dottedKey();
      skipSpaces();
      if (!p.text.startsWith(arrayTable ? "]]" : "]", p.i)) fail("unterminated table header");
      p.i += arrayTable ? 2 : 1;
      table = tableAt(path, arrayTable);
      endOfLine();
      continue;
    }
    const path = dottedKey();
    skipSpaces();
    if (peek() !== "=") fail("expected =");
    p.i++;
    assign(table, path, value());
    endOfLine();
  }
}
