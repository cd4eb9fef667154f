import { illegalArgument, unsupported } from './errors';
import { Json, JsonObject, isObject } from './json';

/**
 * Values found at a dotted field path. Like ES, arrays are flattened and
 * arrays of objects are traversed; a key containing dots ({"a.b": 1}) is
 * equivalent to the nested object form ({"a": {"b": 1}}).
 */
export function extractValues (source: JsonObject, path: string): Json[] {
  const out: Json[] = [];
  collect(source, path, out);
  return out;
}

function collect (value: Json, rest: string, out: Json[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      collect(item, rest, out);
    }
    return;
  }
  if (rest === '') {
    if (value !== null) {
      out.push(value);
    }
    return;
  }
  if (!isObject(value)) {
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (rest === key) {
      collect(child, '', out);
    }
    else if (rest.startsWith(`${key}.`)) {
      collect(child, rest.slice(key.length + 1), out);
    }
  }
}

/** Approximation of the ES "standard" analyzer: Unicode word split + lowercase. */
export function tokenize (text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}_]+(?:['.][\p{L}\p{N}_]+)*/gu) ?? [];
}

const ISO_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Parses strict_date_optional_time (UTC when no zone is given, like ES). */
export function parseIsoDate (text: string): number | null {
  const m = ISO_DATE.exec(text);
  if (!m) {
    return null;
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (zone !== undefined && h === undefined) {
    return null;
  }
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  const parts = [Number(mo ?? 1), Number(d ?? 1), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)];
  const [month, day, hour, minute, second] = parts;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  let time = Date.UTC(Number(y), month - 1, day, hour, minute, second, millis);
  if (new Date(time).getUTCDate() !== day) {
    return null;
  }
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    time -= sign * offset * 60000;
  }
  return time;
}

const SUPPORTED_DATE_FORMATS = new Set([
  'strict_date_optional_time',
  'date_optional_time',
  'strict_date_optional_time_nanos',
  'epoch_millis',
  'epoch_second',
]);

export const DEFAULT_DATE_FORMAT = 'strict_date_optional_time||epoch_millis';

export function assertSupportedDateFormat (format: string, field: string): void {
  for (const f of format.split('||')) {
    if (!SUPPORTED_DATE_FORMATS.has(f)) {
      throw unsupported(`date format [${f}] (field [${field}])`);
    }
  }
}

/** Date value -> epoch millis, or null when no format of the field accepts it. */
export function parseDate (value: Json, format: string = DEFAULT_DATE_FORMAT): number | null {
  for (const f of format.split('||')) {
    if (f === 'epoch_millis' || f === 'epoch_second') {
      const factor = f === 'epoch_millis' ? 1 : 1000;
      if (typeof value === 'number' && Number.isFinite(value)) {
        return Math.trunc(value * factor);
      }
      if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) {
        return Math.trunc(Number(value) * factor);
      }
    }
    else if (typeof value === 'string') {
      const parsed = parseIsoDate(value);
      if (parsed !== null) {
        return parsed;
      }
    }
  }
  return null;
}

const TIME_UNITS: Record<string, number> = {
  nanos: 1e-6,
  micros: 1e-3,
  ms: 1,
  s: 1000,
  m: 60000,
  h: 3600000,
  d: 86400000,
};

/** ES time value ("5s", "1m", "15s") -> milliseconds. */
export function parseTimeValue (text: string, setting: string): number {
  const m = /^(-?\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)$/.exec(text.trim());
  if (!m) {
    throw illegalArgument(`failed to parse setting [${setting}] with value [${text}] as a time value: unit is missing or unrecognized`);
  }
  return Number(m[1]) * TIME_UNITS[m[2]];
}

const DATE_MATH_UNITS: Record<string, number> = {
  s: 1000,
  m: 60000,
  h: 3600000,
  H: 3600000,
  d: 86400000,
  w: 7 * 86400000,
};

function addCalendar (time: number, unit: 'y' | 'M', amount: number): number {
  const date = new Date(time);
  if (unit === 'y') {
    date.setUTCFullYear(date.getUTCFullYear() + amount);
  }
  else {
    date.setUTCMonth(date.getUTCMonth() + amount);
  }
  return date.getTime();
}

/** Supports `now` with +/- offsets in y/M/w/d/h/H/m/s (UTC); rounding and `||` anchors answer 400. */
export function parseDateMath (text: string, now: number): number | null {
  if (!text.startsWith('now')) {
    if (text.includes('||')) {
      throw unsupported(`date math anchored on a date [${text}]`);
    }
    return null;
  }
  let rest = text.slice(3);
  let time = now;
  while (rest.length > 0) {
    const m = /^([+-])(\d+)([yMwdhHms])/.exec(rest);
    if (!m) {
      throw unsupported(`date math expression [${text}] (only now[+-]N[yMwdhHms] is supported, no rounding)`);
    }
    const amount = (m[1] === '-' ? -1 : 1) * Number(m[2]);
    const unit = m[3];
    if (unit === 'y' || unit === 'M') {
      time = addCalendar(time, unit, amount);
    }
    else {
      time += amount * DATE_MATH_UNITS[unit];
    }
    rest = rest.slice(m[0].length);
  }
  return time;
}
