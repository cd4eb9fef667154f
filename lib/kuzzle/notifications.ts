import type { ClusterNode } from '../cluster/node';
import type { DirectPayload, NotificationRequest } from '../cluster/messages';
import type { RealtimeSync } from './realtime';
import type { KuzzleInstance, PluginContext } from './types';

/** `request.serialize()` of Kuzzle 2.10 */
interface SerializedRequest {
  data: Record<string, unknown>;
  options: Record<string, unknown>;
}

export interface DocumentNotifyEvent {
  action: string;
  content: unknown;
  request: SerializedRequest;
  rooms: string[];
  scope: string;
}

export interface UserNotifyEvent {
  content: Record<string, unknown>;
  request: SerializedRequest;
  room: string;
  scope: string;
}

/**
 * Only what Kuzzle's DocumentNotification and UserNotification read from a
 * request: the body, the result and the user of the original request would
 * be sent for nothing (a bulk write would send its whole result with every
 * notification).
 */
export function compactRequest (request: SerializedRequest): NotificationRequest {
  const { data, options } = request;
  const connection = (options.connection || {}) as { id?: string | null; protocol?: string | null };
  const pick = (key: string): string | undefined => (typeof data[key] === 'string' ? data[key] as string : undefined);

  return {
    data: {
      _id: typeof data._id === 'string' ? data._id : null,
      action: pick('action'),
      collection: pick('collection'),
      controller: pick('controller'),
      index: pick('index'),
      requestId: pick('requestId'),
      timestamp: typeof data.timestamp === 'number' ? data.timestamp : undefined,
      volatile: (data.volatile || null) as Record<string, unknown> | null,
    },
    options: { connection: { id: connection.id ?? null, protocol: connection.protocol ?? null } },
  };
}

/**
 * Document and user notifications are matched once, on the node that handled
 * the write, then sent to the nodes having subscribers in the matched rooms.
 */
export class NotificationRelay {
  private readonly kuzzle: KuzzleInstance;

  constructor (
    private readonly context: PluginContext,
    private readonly node: ClusterNode,
    private readonly realtime: RealtimeSync,
  ) {
    this.kuzzle = context.accessors.kuzzle;
  }

  onDocument (event: DocumentNotifyEvent): void {
    const request = compactRequest(event.request);
    this.node.notify(event.rooms, rooms => ({
      action: event.action, content: event.content, request, rooms, scope: event.scope, t: 'document',
    }));
  }

  /**
   * Kuzzle counts the room's local subscribers only. This hook runs
   * synchronously before Kuzzle dispatches the notification and shares its
   * content object: setting the cluster-wide count here fixes the local
   * notification and the ones sent to peers alike.
   */
  onUser (event: UserNotifyEvent): void {
    if (event.content && typeof event.content === 'object' && typeof event.content.count === 'number') {
      event.content.count = this.realtime.clusterSize(event.room);
    }
    const request = compactRequest(event.request);
    this.node.notify([event.room], () => ({
      content: event.content, request, room: event.room, scope: event.scope, t: 'user',
    }));
  }

  async dispatch (message: DirectPayload): Promise<void> {
    const { Request } = this.context.constructors;
    const request = new Request(message.request.data, message.request.options);

    if (message.t === 'document') {
      await this.kuzzle.ask('core:realtime:document:dispatch',
        message.rooms, request, message.scope, message.action, message.content);
    }
    else {
      await this.kuzzle.ask('core:realtime:user:sendMessage',
        message.room, request, message.scope, message.content);
    }
  }
}
