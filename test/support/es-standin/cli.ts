/**
 * node -r ts-node/register/transpile-only test/support/es-standin/cli.ts --port 9200 [--host 127.0.0.1] [--log]
 * Prints `es-standin listening on http://HOST:PORT` once ready; --log prints one line per request on stderr.
 */
import { EsStandin, startEsStandin } from './http';

function argValue (name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main (): Promise<void> {
  const port = Number(argValue('--port') ?? '9200');
  const host = argValue('--host') ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid --port ${String(argValue('--port'))}`);
  }
  const log = process.argv.includes('--log');
  const state: { standin?: EsStandin; stopping: boolean } = { stopping: false };
  // Installed before the ready line is printed: a supervisor may signal as soon as it reads it.
  const stop = (): void => {
    if (state.stopping) {
      return;
    }
    state.stopping = true;
    const closing = state.standin ? state.standin.close() : Promise.resolve();
    closing.then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const standin = await startEsStandin({
    port,
    host,
    onRequest: log
      ? entry => process.stderr.write(`${entry.status} ${entry.method} ${entry.url}${entry.error ? ` ${entry.error}: ${entry.reason ?? ''}` : ''}\n`)
      : undefined,
  });
  state.standin = standin;
  process.stdout.write(`es-standin listening on ${standin.url}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`es-standin failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
