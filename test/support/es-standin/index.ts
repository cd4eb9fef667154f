export { startEsStandin, createEsServer } from './http';
export type { EsStandin, StartOptions, RequestLogEntry } from './http';
export { Store } from './store';
