/** A frame that fails its checks: dropped, counted by kind, logged once per source and kind. */
export class InvalidMessageError extends Error {
  /** error kind, for counters */
  constructor (readonly kind: 'malformed' | 'version' | 'type' | 'oversized', message: string) {
    super(message);
    this.name = 'InvalidMessageError';
  }
}

export type Obj = Record<string, unknown>;

export function isObj (value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function fail (message: string): never {
  throw new InvalidMessageError('malformed', message);
}
