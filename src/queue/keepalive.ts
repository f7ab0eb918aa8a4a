import type { Redis } from "ioredis";

/**
 * Whether a Redis client's socket keeps its process alive. A graph's clients must not hold a script or a
 * notebook kernel open once nothing is asked of them (a script that forgets `close()` still exits; a kernel
 * shuts down at once), but a command in flight must: Node would otherwise exit before its reply came.
 * (Workers keep the default: their loop is what keeps them running.)
 */

interface Streamed {
  stream?: { ref?: () => void; unref?: () => void; destroyed?: boolean };
  sendCommand: (command: { promise: Promise<unknown> }, ...rest: unknown[]) => unknown;
}

function setRef(client: Redis, ref: boolean): void {
  const stream = (client as unknown as Streamed).stream;
  // a socket that is gone (Redis down: ioredis keeps the old one until it reconnects) would only queue a
  // 'connect' listener per call that never fires; the new socket is set on 'connect'
  if (!stream || stream.destroyed) return;
  if (ref) stream.ref?.();
  else stream.unref?.();
}

/** The socket never keeps the process alive (a subscriber, or a client that only blocks: BLMOVE). */
export function unrefAlways(client: Redis): Redis {
  setRef(client, false);
  // every reconnect makes a new socket
  client.on("connect", () => setRef(client, false));
  return client;
}

/** The socket keeps the process alive only while a command (or a pipeline, a transaction) awaits its reply. */
export function refWhileBusy(client: Redis): Redis {
  const c = client as unknown as Streamed;
  let pending = 0;
  const update = () => setRef(client, pending > 0);
  const send = c.sendCommand.bind(client);
  c.sendCommand = (command, ...rest) => {
    pending++;
    update();
    const settled = () => {
      pending--;
      update();
    };
    command.promise.then(settled, settled);
    return send(command, ...rest);
  };
  client.on("connect", update);
  update();
  return client;
}
