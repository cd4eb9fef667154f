/** Kuzzle's logger, or any with the same three levels */
export interface Logger {
  info (message: string): void;
  warn (message: string): void;
  error (message: string): void;
}
