/** JSON value model shared by every es-standin module. */
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Own-property lookup. Plain `obj[key]` would also see Object.prototype
 * members (and `should`, which should.js installs there in test processes).
 */
export function own (obj: JsonObject, key: string): Json | undefined {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** JSON.parse only ever yields JSON values, so narrowing its result to Json is sound. */
export function parseJson (text: string): Json {
  const parsed: unknown = JSON.parse(text);
  return parsed as Json;
}

export function clone<T extends Json> (value: T): T {
  return structuredClone(value);
}

export function deepEqual (a: Json, b: Json): boolean {
  if (a === b) {
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
      return false;
    }
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keysA = Object.keys(a);
    if (keysA.length !== Object.keys(b).length) {
      return false;
    }
    return keysA.every(key => Object.prototype.hasOwnProperty.call(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}

/** Accepts an ES "object or array of objects" clause slot (bool.must, etc.). */
export function asList (value: Json): Json[] {
  return Array.isArray(value) ? value : [value];
}

export function describe (value: Json): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
