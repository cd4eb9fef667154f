/**
 * Polls `check` every `interval` ms until it returns true; throws after
 * `timeout` ms, or as soon as `failed` returns a reason (e.g. the process
 * being waited for exited).
 */
export async function waitFor (
  what: string, check: () => Promise<boolean>, timeout: number, failed?: () => string | null, interval = 200,
): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const failure = failed ? failed() : null;
    if (failure) {
      throw new Error(`${what}: ${failure}`);
    }
    if (await check().catch(() => false)) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, interval));
  }
}
