import { createServer } from 'net';

/** A TCP port free on 127.0.0.1 right now */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') {
          resolve(address.port);
        }
        else {
          reject(new Error('no port'));
        }
      });
    });
  });
}

export async function freePorts (count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    ports.add(await freePort());
  }
  return Array.from(ports);
}
