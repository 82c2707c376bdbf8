/** Option handling shared by the provider and the client factory. */

/** A copy of `value` in which object keys whose value is `undefined` are left out, at every
 * depth: every option accepts `undefined` as "absent" (`backoff={undefined}` in JSX). */
export function withoutUndefined(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) out[key] = withoutUndefined(item);
  }
  return out;
}
