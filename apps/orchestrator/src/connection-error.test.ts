// Connection failures in words: a TCP probe tells refused from unknown host, and the message names the
// address, its source and what to check, without the SDK's raw transport error.
import { freePort } from './dev-server';
import { connectionError, connectionFailureReason, probeAddress } from './connection-error';

describe('connection errors', () => {
  it('a port nobody listens on is refused; a bad host does not resolve; a URL is not host:port', async () => {
    expect(await probeAddress(`127.0.0.1:${await freePort()}`)).toBe('connection refused (nothing listens on that port)');
    expect(await probeAddress('nohost.invalid:7233')).toBe('the host name does not resolve');
    expect(await probeAddress('http://temporal:7233/')).toBe('not a host:port address');
  });

  it('the raw tonic transport error becomes a reason and a hint naming the address', () => {
    const raw = new Error('tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))');
    const e = connectionError('temporal:7233', 'TEMPORAL_ADDRESS', raw);
    expect(e.message).toBe('cannot reach Temporal at temporal:7233 (TEMPORAL_ADDRESS): connection refused (nothing listens on that port). '
      + 'Check that a Temporal frontend runs there (`temporal operator cluster health --address ...`), that the address is host:port (no http://), '
      + 'the TLS settings, and the network between; without an address (no TEMPORAL_ADDRESS, no --address) dnd starts a local dev server.');
    expect(connectionFailureReason('Failed to connect before the deadline')).toBe('no answer in time');
    expect(connectionFailureReason('tonic::transport::Error(Transport, hyper::Error(Connect, "dns error"))')).toBe('the host name does not resolve');
  });
});
