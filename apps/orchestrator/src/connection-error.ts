// Turns a failed connection to Temporal into a message a user can act on: the address, where it came from,
// what went wrong in words (refused, unknown host, timed out, not host:port) and what to check; never the raw
// `tonic::transport::Error(...)`. Not retrying (the SDK retries calls once connected).
import * as net from 'net';

/** Where an address came from, named in the message. */
export type AddressSource = 'TEMPORAL_ADDRESS' | '--address' | 'the run\'s dev server' | 'the embedded dev server';

/** The cause in a few words, from the SDK's message (Rust transport errors included). */
export function connectionFailureReason(message: string): string {
  const m = message.toLowerCase();
  if (m.includes('connection refused')) return 'connection refused (nothing listens on that port)';
  if (m.includes('dns') || m.includes('failed to lookup') || m.includes('name or service not known') || m.includes('no such host')) return 'the host name does not resolve';
  if (m.includes('invalid uri') || m.includes('invaliduri') || m.includes('invalid address') || m.includes('invalid socket address')) return 'not a host:port address';
  if (m.includes('timed out') || m.includes('deadline') || m.includes('timeout')) return 'no answer in time';
  if (m.includes('tls') || m.includes('certificate') || m.includes('http2') || m.includes('h2 protocol')) return 'the server did not speak plain gRPC (TLS or a proxy in the way?)';
  const first = message.split('\n')[0]!.replace(/tonic::transport::Error\(.*$/i, '').replace(/[\s:,(]+$/, '').trim();
  return first || 'the connection failed';
}

/**
 * An Error naming the address, its source, the reason and what to check.
 * @example throw connectionError('temporal:7233', 'TEMPORAL_ADDRESS', e)
 */
export function connectionError(address: string, source: AddressSource, cause: unknown): Error {
  const reason = cause instanceof Error && /^(connection refused|the host|no answer within|not a host:port)/.test(cause.message) ? cause.message : connectionFailureReason(cause instanceof Error ? `${cause.message} ${String((cause as { cause?: unknown }).cause ?? '')}` : String(cause));
  const check = source === 'TEMPORAL_ADDRESS' || source === '--address'
    ? 'check that a Temporal frontend runs there (`temporal operator cluster health --address ...`), that the address is host:port (no http://), the TLS settings, and the network between; without an address (no TEMPORAL_ADDRESS, no --address) dnd starts a local dev server'
    : 'the dev server may have just stopped: run the command again (it starts one on the run\'s history); its log is temporal-server.log in the run directory';
  const e = new Error(`cannot reach Temporal at ${address} (${source}): ${reason}. ${check[0]!.toUpperCase()}${check.slice(1)}.`);
  e.name = 'ConnectionError';
  return e;
}

/**
 * Why a TCP connection to `address` fails, in words (the gRPC client only says it missed its deadline):
 * refused, unknown host, no answer, or null when a TCP connection opens (then the server is not Temporal, or not ready).
 * @example await probeAddress('127.0.0.1:1') // 'connection refused (nothing listens on that port)'
 */
export function probeAddress(address: string, timeoutMs = 3000): Promise<string | null> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) return Promise.resolve('not a host:port address');
  return new Promise((resolve) => {
    const socket = net.connect({ host: m[1]!, port: Number(m[2]) });
    const done = (r: string | null) => { socket.destroy(); resolve(r); };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s (a firewall, or the wrong host?)`));
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done('connection refused (nothing listens on that port)');
      else if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') done('the host name does not resolve');
      else if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') done('the host is unreachable');
      else done(e.code ?? e.message);
    });
  });
}

/**
 * Runs `connect`, turning any failure into connectionError (with the reason a TCP probe finds, when it finds one).
 * @example const c = await explainConnect('temporal:7233', 'TEMPORAL_ADDRESS', () => Connection.connect({ address }))
 */
export async function explainConnect<T>(address: string, source: AddressSource, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (e) {
    const probed = await probeAddress(address);
    throw connectionError(address, source, probed ? new Error(probed) : e);
  }
}
