/**
 * The parts of Kuzzle 2.10 internals this plugin relies on, typed as narrowly
 * as it uses them. Everything here comes from node_modules/kuzzle/lib.
 */

export type AskAnswerer = (...args: unknown[]) => unknown;

export interface KoncordeEngine {
  store (normalized: { index: string; collection: string; normalized: unknown[]; id: string }): unknown;
  remove (id: string): unknown;
  hasFilter (id: string): boolean;
}

export interface KuzzleUser {
  isActionAllowed (request: KuzzleRequest): Promise<boolean>;
}

export interface KuzzleRequest {
  input: {
    args: Record<string, unknown>;
    body: Record<string, unknown> | null;
    resource: { index?: string; collection?: string; _id?: string };
  };
  context: { connection: { id: string | null }; user: KuzzleUser | null };
}

/** what an API action of this plugin reads and sets of its request */
export interface ApiRequest {
  /** volatile: the SDKs set `sdkName` in it (over HTTP, as the x-kuzzle-volatile header) */
  input: { args: Record<string, unknown>; volatile: Record<string, unknown> | null };
  context: { connection: { protocol: string | null } };
  /** `raw`: Kuzzle sends the result as is, with these headers, instead of its JSON envelope */
  response: { raw: boolean; setHeader (name: string, value: string): unknown };
}

export type RequestConstructor = new (data: Record<string, unknown>, options?: Record<string, unknown>) => KuzzleRequest;

/** what the funnel, the role checks and server:publicApi read of a plugin controller */
export interface PluginController {
  readonly _actions: Set<string>;
  _isAction (name: string): boolean;
  [action: string]: unknown;
}

export interface PluginsManager {
  /** every plugin controller by name, as the funnel looks them up */
  controllers: Map<string, PluginController>;
  strategies: Record<string, { owner: string; strategy: Record<string, unknown> }>;
  listStrategies (): string[];
  registerStrategy (pluginName: string, name: string, strategy: Record<string, unknown>): void;
  unregisterStrategy (pluginName: string, name: string): void;
}

export interface KuzzleInstance {
  id: string;
  version: string;
  config: { services: { internalCache: Record<string, unknown> } };
  koncorde: KoncordeEngine;
  pluginsManager: PluginsManager;
  validation: { curateSpecification (): Promise<unknown> };
  coreAnswerers: Map<string, AskAnswerer>;
  ask (event: string, ...args: unknown[]): Promise<unknown>;
  onAsk (event: string, fn: AskAnswerer): void;
  dump (suffix: string): Promise<unknown>;
  shutdown (): Promise<void>;
}

export interface PluginContext {
  accessors: { kuzzle: KuzzleInstance };
  constructors: { Request: RequestConstructor };
  errors: Record<string, new (message: string, id?: string) => Error>;
  log: { info (m: string): void; warn (m: string): void; error (m: string): void; debug (m: string): void };
}

/** a realtime subscribe/join diff (hotelClerk) */
export interface SubscriptionDiff {
  index: string;
  collection: string;
  roomId: string;
  connectionId: string;
  filters?: unknown[];
  changed?: boolean;
}

export interface UnsubscriptionPayload {
  requestContext: unknown;
  room: { id: string; index: string; collection: string };
}
