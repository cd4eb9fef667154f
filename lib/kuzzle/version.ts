/** Kuzzle versions this plugin runs on: 2.10.x (2.11 brought a native cluster) */
export const SUPPORTED_KUZZLE = '>=2.10.0 <2.11.0';

function parse (version: string): [number, number, number] | null {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : null;
}

/** null when supported, else why not and what to do */
export function checkKuzzleVersion (version: unknown): string | null {
  const parsed = typeof version === 'string' ? parse(version) : null;

  if (!parsed) {
    return `cannot tell the Kuzzle version (${JSON.stringify(version)}); this plugin supports Kuzzle ${SUPPORTED_KUZZLE}`;
  }

  const [major, minor] = parsed;

  if (major > 2 || (major === 2 && minor >= 11)) {
    return `Kuzzle ${version} has a native cluster: this plugin is for Kuzzle 2.10.x only. Remove it from plugins/enabled (or KUZZLE_PLUGINS) and use Kuzzle's built-in cluster instead.`;
  }
  if (major < 2 || minor < 10) {
    return `Kuzzle ${version} is too old for this plugin (supported: ${SUPPORTED_KUZZLE}). Upgrade Kuzzle to 2.10.x, or use the cluster plugin bundled with your Kuzzle version.`;
  }
  return null;
}
