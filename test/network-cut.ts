/**
 * A TCP relay to a server, which can go down as the server does in an outage, or be cut off as a
 * network partition cuts a host off: from the cut on it forwards nothing, either way, and closes
 * nothing. The server then keeps the host's
 * sessions as they were (a transaction open, its locks held) until something of its own ends
 * them, as it would after a host lost power or its network.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Relay {
  /** The port to connect to instead of the server's. */
  port: number;
  /**
   * Cuts the relay off right after it forwards the next chunk from a client that contains
   * `text` (the middle of a transaction: its statements sent, the COMMIT not). Resolves then.
   */
  cutAfter(text: string): Promise<void>;
  /** Resolves once `times` chunks from clients have contained `text` (counted from the relay's start). */
  seen(text: string, times: number): Promise<void>;
  /**
   * An outage of the server as its clients see it (a restart, a failover): every connection
   * through the relay is closed, both ways, and new ones are closed at once, for `ms`.
   */
  outage(ms: number): Promise<void>;
  /** Ends the outage under way now. */
  restore(): void;
  close(): Promise<void>;
}

export async function startRelay(host: string, port: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let cut = false;
  let down = false;
  let ended: () => void = () => undefined;
  const restore = () => ended();
  const sightings: { text: string; left: number; resolve: () => void }[] = [];
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      // A side that closes after the cut is not told to the other: the server must not hear of it.
      socket.on('close', () => {
        sockets.delete(socket);
        if (!cut) (socket === client ? upstream : client).destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      upstream.write(chunk);
      for (const sighting of sightings) if (sighting.left > 0 && chunk.includes(sighting.text) && --sighting.left === 0) sighting.resolve();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cut) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    // Cut in the same turn as the chunk was forwarded: before the next chunk, or the answer, comes.
    cutAfter: (text) => new Promise<void>((resolve) => sightings.push({ text, left: 1, resolve: () => ((cut = true), resolve()) })),
    seen: (text, times) => new Promise<void>((resolve) => sightings.push({ text, left: times, resolve })),
    outage: async (ms) => {
      down = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(restore, ms);
        ended = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      down = false;
    },
    restore,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
