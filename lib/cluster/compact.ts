import { InvalidMessageError, fail, isObj } from './invalid';
import type { DirectPayload, NotificationRequest, Sequenced } from './messages';

/**
 * Compact notifications (protocol 2): a JSON array instead of an object. No
 * key names, no `from` (each peer's PUB socket has its own SUB socket here,
 * which names the sender), and only the request fields Kuzzle's
 * DocumentNotification and UserNotification read:
 *
 *   [2, "d", seq, rooms, scope, action, request, content]
 *   [2, "u", seq, room, scope, request, content]
 *   request: [requestId, timestamp, volatile, index, collection, controller, action, protocol]
 *
 * (a document notification reads no request action, a user one no
 * requestId: null). They go only to peers announcing they read protocol 2
 * (`protocol` in their hello and node info): a node of an earlier release
 * still gets version 1 envelopes, so a rolling upgrade loses nothing.
 */
export const COMPACT_VERSION = 2;

const COMPACT_DOCUMENT = 'd';
const COMPACT_USER = 'u';

type CompactRequest = [string | null, number | null, Record<string, unknown> | null,
  string | null, string | null, string | null, string | null, string | null];

function compactRequestOf ({ data, options }: NotificationRequest, kind: DirectPayload['t']): CompactRequest {
  return [
    kind === 'document' ? data.requestId ?? null : null,
    data.timestamp ?? null,
    data.volatile ?? null,
    data.index ?? null,
    data.collection ?? null,
    data.controller ?? null,
    kind === 'user' ? data.action ?? null : null,
    options.connection?.protocol ?? null,
  ];
}

/** like encodeNotification, for a peer reading protocol 2 */
export function encodeCompactNotification (payload: DirectPayload, seq: number, content: string | undefined): string {
  const head = payload.t === 'document'
    ? [COMPACT_VERSION, COMPACT_DOCUMENT, seq, payload.rooms, payload.scope, payload.action, compactRequestOf(payload.request, 'document')]
    : [COMPACT_VERSION, COMPACT_USER, seq, payload.room, payload.scope, compactRequestOf(payload.request, 'user')];
  const json = JSON.stringify(head);
  return `${json.slice(0, -1)},${content === undefined ? 'null' : content}]`;
}

function optional<T> (value: unknown, check: (v: unknown) => v is T, what: string): T | undefined {
  if (value === null) {
    return undefined;
  }
  if (!check(value)) {
    return fail(`compact notification: ${what} is invalid`);
  }
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function requestFromCompact (value: unknown): NotificationRequest {
  if (!Array.isArray(value) || value.length !== 8) {
    return fail('compact notification: request must be an array of 8');
  }
  const protocol = optional(value[7], isString, 'request protocol');
  return {
    data: {
      action: optional(value[6], isString, 'request action'),
      collection: optional(value[4], isString, 'request collection'),
      controller: optional(value[5], isString, 'request controller'),
      index: optional(value[3], isString, 'request index'),
      requestId: optional(value[0], isString, 'request id'),
      timestamp: optional(value[1], isNumber, 'request timestamp'),
      volatile: optional(value[2], isObj, 'request volatile') ?? null,
    },
    options: { connection: { protocol: protocol ?? null } },
  };
}

/** a compact notification (parsed) from `sender`, as the envelope it stands for; throws InvalidMessageError */
export function decodeCompact (parsed: unknown[], sender: string): Sequenced<DirectPayload> {
  if (parsed[0] !== COMPACT_VERSION) {
    throw new InvalidMessageError('version', `unsupported compact message version ${JSON.stringify(parsed[0])}`);
  }
  const [, kind, seq] = parsed;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return fail('compact notification: seq must be a non-negative integer');
  }
  const scope = parsed[4];
  if (typeof scope !== 'string' || scope.length === 0) {
    return fail('compact notification: scope must be a non-empty string');
  }
  if (kind === COMPACT_DOCUMENT && parsed.length === 8) {
    const [, , , rooms, , action, request, content] = parsed;
    if (!Array.isArray(rooms) || !rooms.every(isString)) {
      return fail('compact notification: rooms must be an array of strings');
    }
    if (typeof action !== 'string' || action.length === 0) {
      return fail('compact notification: action must be a non-empty string');
    }
    return {
      action, content, from: sender, request: requestFromCompact(request), rooms, scope, seq, t: 'document', v: COMPACT_VERSION,
    };
  }
  if (kind === COMPACT_USER && parsed.length === 7) {
    const [, , , room, , request, content] = parsed;
    if (typeof room !== 'string' || room.length === 0) {
      return fail('compact notification: room must be a non-empty string');
    }
    return { content, from: sender, request: requestFromCompact(request), room, scope, seq, t: 'user', v: COMPACT_VERSION };
  }
  throw new InvalidMessageError('type', `unknown compact message ${JSON.stringify(kind)} of ${parsed.length} fields`);
}
