/**
 * The TypeScript types name what the Rust side emits: every error code the WASM shell or the
 * protocol can put in `error.code` / `lastError.code`, every connection state, and every field
 * of `Status`. Read from the Rust sources, so a code or field added there and not here fails.
 */
import { describe, expect, it } from "vitest";

import coreErrors from "../../crates/core/src/error.rs?raw";
import protocolCodes from "../../crates/protocol/src/codes.rs?raw";
import shellConvert from "../../src/shell/convert.rs?raw";
import shellError from "../../src/shell/error.rs?raw";
import types from "../src/types.ts?raw";

const sources: Record<string, string> = {
  "src/shell/error.rs": shellError,
  "src/shell/convert.rs": shellConvert,
  "crates/protocol/src/codes.rs": protocolCodes,
  "crates/core/src/error.rs": coreErrors,
};
const read = (path: string): string => {
  const text = sources[path];
  if (text === undefined) throw new Error(`not imported: ${path}`);
  return text;
};

/** The body of `fn NAME` (up to the first line that closes it at its indentation). */
function fnBody(source: string, name: string): string {
  const start = source.indexOf(`fn ${name}`);
  if (start < 0) throw new Error(`fn ${name} not found`);
  const indent = source.lastIndexOf("\n", start);
  const pad = source.slice(indent + 1, start).match(/^\s*/)?.[0] ?? "";
  const end = source.indexOf(`\n${pad}}\n`, start);
  return source.slice(start, end);
}

/** String literals on the right of `=>` in a match. */
function matchedStrings(body: string): string[] {
  return [...body.matchAll(/=>\s*"([^"]+)"/g)].map((m) => m[1]!);
}

/** The members of a string-literal union `export type NAME = | "a" | "b" ...;`. */
function unionMembers(source: string, name: string): Set<string> {
  const start = source.indexOf(`export type ${name} =`);
  const end = source.indexOf(";", start);
  return new Set([...source.slice(start, end).matchAll(/"([^"]+)"/g)].map((m) => m[1]!));
}

/** The field names of `export interface NAME { ... }`. */
function interfaceFields(source: string, name: string): Set<string> {
  const start = source.indexOf(`export interface ${name} {`);
  const end = source.indexOf("\n}", start);
  return new Set([...source.slice(start, end).matchAll(/^\s{2}(\w+)\??:/gm)].map((m) => m[1]!));
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Fields of a Rust struct `struct NAME { a: T, b: T }` inside `body`, camelCased. */
function structFields(body: string, name: string): string[] {
  const start = body.indexOf(`struct ${name} {`);
  const end = body.indexOf("}", start);
  return [...body.slice(start, end).matchAll(/^\s*(\w+):/gm)].map((m) => camel(m[1]!));
}


describe("TypeScript types against the Rust side", () => {
  it("ErrorCode names every code the shell, the engine and the protocol emit", () => {
    const codes = new Set([
      ...matchedStrings(fnBody(read("src/shell/error.rs"), "code")),
      // Every `code()` of the engine's errors (EngineError, Rejection, RequestError).
      ...matchedStrings(read("crates/core/src/error.rs")).filter((c) => /^[A-Z_]+$/.test(c)),
      ...matchedStrings(fnBody(read("crates/protocol/src/codes.rs"), "as_str")).filter((c) =>
        /^[A-Z_]+$/.test(c),
      ),
    ]);
    expect(codes.size).toBeGreaterThan(20);
    const declared = unionMembers(types, "ErrorCode");
    expect([...codes].filter((c) => !declared.has(c))).toEqual([]);
  });

  it("ConnectionState names every state the shell reports", () => {
    const body = fnBody(read("src/shell/convert.rs"), "status");
    const states = [...body.matchAll(/ConnectionState::\w+ => "([^"]+)"/g)].map((m) => m[1]!);
    const fallback = body.match(/_ => "([^"]+)"/)?.[1];
    expect(states.length).toBeGreaterThan(5);
    const declared = unionMembers(types, "ConnectionState");
    expect([...states, fallback].filter((s) => s && !declared.has(s))).toEqual([]);
  });

  it("Status and its counters have exactly the fields the shell serializes", () => {
    const body = fnBody(read("src/shell/convert.rs"), "status");
    expect(new Set(structFields(body, "Out"))).toEqual(interfaceFields(types, "Status"));
    expect(new Set(structFields(body, "CountersOut"))).toEqual(
      interfaceFields(types, "StatusCounters"),
    );
  });
});
