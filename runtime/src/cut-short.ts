import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { ContractError } from '@usertags/contracts';

/** Connections the server gave up on because the request took too long (they got a 408). */
const timedOut = new WeakSet<Socket>();

/** Notes that the server refused `socket` for being too slow, so a handler still reading its body can tell why the body stopped. */
export function markTimedOut(socket: Socket): void {
  timedOut.add(socket);
}

/**
 * Why a request's body stopped before its end: the server's request timeout
 * (REQUEST_TIMEOUT, the client was answered 408) or the client closing the
 * connection (CLIENT_CLOSED, nobody to answer). Neither is the server's fault.
 */
export function bodyCutShort(req: IncomingMessage): ContractError {
  return timedOut.has(req.socket)
    ? new ContractError('REQUEST_TIMEOUT', 'the request was not received in time')
    : new ContractError('CLIENT_CLOSED', 'the client closed the connection before the body was complete');
}
