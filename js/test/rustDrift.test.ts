/**
 * The TypeScript types name what the Rust side emits: every error code the WASM shell or the
 * protocol can put in `error.code` / `lastError.code`, every connection state, and every field
 * of `Status`. Read from the Rust sources, so a code or field added there and not here fails.
 */
import { describe, expect, it } from "vitest";

import coreErrors from "../../crates/core/src/error.rs?raw";
import protocolCodes from "../../crates/protocol/src/codes.rs?raw";
import shellConvert from "../../src/shell/convert.rs?raw";
import shellOptions from "../../src/shell/options.rs?raw";
import shellEffects from "../../src/shell/driver/effects.rs?raw";
import shellError from "../../src/shell/error.rs?raw";
import types from "../src/types.ts?raw";
import loader from "../src/loader.ts?raw";

const sources: Record<string, string> = {
  "src/shell/error.rs": shellError,
  "src/shell/convert.rs": shellConvert,
  "src/shell/driver/effects.rs": shellEffects,
  "src/shell/options.rs": shellOptions,
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

/** The keys a Rust function sets on the object it builds: `put(&out, "key", ...)` or, with
 * a local setter, `NAME("key", ...)`. */
function setKeys(body: string, setter: RegExp): string[] {
  return [...body.matchAll(setter)].map((m) => m[1]!);
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

  it("Status and its counters have exactly the fields the shell sets", () => {
    const source = read("src/shell/convert.rs");
    const status = setKeys(fnBody(source, "status"), /put\(\s*&out,\s*"(\w+)"/g);
    expect(status.length).toBeGreaterThan(8);
    // The loader adds the devtools' fault switches (`{ ...status, faults: on }`).
    const added = [...loader.matchAll(/\{ \.\.\.status, (\w+):/g)].map((m) => m[1]!);
    expect(added).toEqual(["faults"]);
    expect(new Set([...status, ...added])).toEqual(interfaceFields(types, "Status"));
    const counters = setKeys(fnBody(source, "counters"), /count\("(\w+)"/g);
    expect(counters.length).toBeGreaterThan(3);
    expect(new Set(counters)).toEqual(interfaceFields(types, "StatusCounters"));
  });

  it("the change batch and what it holds have exactly the fields the shell writes", () => {
    const source = read("src/shell/convert.rs");
    const keys = (name: string) => new Set(setKeys(fnBody(source, name), /\.key\("(\w+)"\)/g));
    expect(keys("write_view_change")).toEqual(
      new Set([
        ...interfaceFields(types, "ViewChange"),
        ...interfaceFields(types, "DocRow"),
        ...interfaceFields(types, "ViewEventRow"),
      ]),
    );
    expect(keys("write_conflict")).toEqual(interfaceFields(types, "Conflict"));
    expect(keys("write_document")).toEqual(new Set(["version", "doc"]));
    expect(keys("write_rejection")).toEqual(interfaceFields(types, "Rejection"));
    expect(keys("write_broadcast")).toEqual(interfaceFields(types, "BroadcastMessage"));
    expect(keys("write_notification")).toEqual(interfaceFields(types, "Notification"));
    expect(keys("write_presence")).toEqual(new Set(["channel", "members", "clientId", "state"]));
    const driver = read("src/shell/driver/effects.rs");
    const batch = new Set(setKeys(driver, /batch\.list\("(\w+)"/g));
    expect(batch).toEqual(interfaceFields(types, "ChangeBatch"));
  });

  it("ClientOptions and Mutation name exactly the fields the shell reads", () => {
    const client = read("src/shell/options.rs");
    const top = new Set([
      ...setKeys(client, /args::(?:string|object|field)\(\s*&?options,\s*"(\w+)"/g),
      ...setKeys(client, /u(?:32|64)_of\(\s*&top,\s*"(\w+)"/g),
    ]);
    expect(top.size).toBeGreaterThan(8);
    expect(top).toEqual(interfaceFields(types, "ClientOptions"));
    /** The fields of the object type declared as `NAME?: { ... }` inside ClientOptions. */
    const nested = (name: string) => {
      const start = types.indexOf(`${name}?: {`, types.indexOf("export interface ClientOptions"));
      const end = types.indexOf("}", start);
      return new Set([...types.slice(start + name.length + 4, end).matchAll(/(\w+)\?:/g)].map((m) => m[1]!));
    };
    for (const group of ["backoff", "heartbeat", "flush"]) {
      const read = new Set(
        [...client.matchAll(/u(?:32|64)_of\(\s*&(\w+),\s*"(\w+)"/g)]
          .filter((m) => m[1] === group)
          .map((m) => m[2]!),
      );
      expect(read.size).toBeGreaterThan(0);
      expect(read).toEqual(nested(group));
    }
    const mutation = fnBody(client, "read_mutation");
    const fields = new Set([
      ...setKeys(mutation, /args::\w+\(\s*mutation,\s*"(\w+)"/g),
      ...setKeys(mutation, /JsValue::from_str\("(\w+)"\)/g),
    ]);
    const start = types.indexOf("export type Mutation =");
    const declared = new Set(
      [...types.slice(start, types.indexOf(";\n\n", start)).matchAll(/(\w+)\??: /g)].map((m) => m[1]!),
    );
    expect(fields).toEqual(declared);
  });
});
