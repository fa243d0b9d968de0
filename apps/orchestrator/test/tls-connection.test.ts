// TLS and mTLS to Temporal for real: the Temporal CLI's dev server cannot serve TLS (`start-dev` has no TLS
// flags), so a Node TLS terminator (node:tls, requestCert, ALPN h2) sits in front of it, with a CA, server
// and client certificates made by openssl. The client (Connection) and the worker side (NativeConnection)
// connect through it with the options dnd resolves from flags and TEMPORAL_* variables.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { NativeConnection } from '@temporalio/worker';
import { buildCli } from '../src/cli';
import { connectClient } from '../src/client';
import { connectOptions, resolveConnection } from '../src/connection-options';
import { startDevServer, type DevServer } from '../src/dev-server';
import { tmpDir } from './support/env';

jest.setTimeout(120_000);
const dir = tmpDir('tls');
const pem = (name: string): string => path.join(dir, name);
let dev: DevServer;
let proxy: tls.Server;
let proxyAddress: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

beforeAll(async () => {
  // A CA, a server certificate for "temporal.test" (not the address's host: the server-name option is needed),
  // and a client certificate, all signed by the CA.
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dnd test CA');
  for (const [name, ext] of [['server', 'subjectAltName=DNS:temporal.test'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name === 'server' ? 'temporal.test' : 'dnd-worker'}`);
    fs.writeFileSync(pem(`${name}.ext`), ext + '\n');
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  dev = await startDevServer({ dbFile: path.join(dir, 'temporal.db'), ui: false });
  const [host, port] = [dev.address.split(':')[0]!, Number(dev.address.split(':')[1])];
  proxy = tls.createServer({
    key: fs.readFileSync(pem('server.key')), cert: fs.readFileSync(pem('server.pem')), ca: fs.readFileSync(pem('ca.pem')),
    requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'],
  }, (sock) => {
    const up = net.connect(port, host);
    sock.pipe(up).pipe(sock);
    const end = (): void => { sock.destroy(); up.destroy(); };
    sock.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyAddress = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await dev?.stop();
});

describe('mTLS through a TLS terminator in front of the dev server', () => {
  it('the client connects with --tls-ca/--tls-cert/--tls-key/--tls-server-name and lists namespaces', async () => {
    const conn = resolveConnection({ address: proxyAddress, tlsCa: pem('ca.pem'), tlsCert: pem('client.pem'), tlsKey: pem('client.key'), tlsServerName: 'temporal.test' }, {});
    const client = await connectClient(conn.address!, 'default', conn);
    try {
      const r = await client.workflowService.describeNamespace({ namespace: 'default' });
      expect(r.namespaceInfo?.name).toBe('default');
    } finally {
      await client.connection.close();
    }
  });

  it('the worker side (NativeConnection) connects with the same material given as TEMPORAL_* PEM data', async () => {
    const conn = resolveConnection({}, {
      TEMPORAL_ADDRESS: proxyAddress, TEMPORAL_TLS_CA_DATA: fs.readFileSync(pem('ca.pem'), 'utf8'),
      TEMPORAL_TLS_CLIENT_CERT_DATA: fs.readFileSync(pem('client.pem'), 'utf8'), TEMPORAL_TLS_CLIENT_KEY_PATH: pem('client.key'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    });
    const native = await NativeConnection.connect(connectOptions(conn, conn.address!));
    try {
      const r = await native.workflowService.getSystemInfo({});
      expect(r.capabilities).toBeTruthy();
    } finally {
      await native.close();
    }
  });

  it('without a client certificate the server refuses the connection', async () => {
    const conn = resolveConnection({ address: proxyAddress, tlsCa: pem('ca.pem'), tlsServerName: 'temporal.test' }, {});
    await expect(NativeConnection.connect({ ...connectOptions(conn, conn.address!), connectTimeout: 5000 } as Parameters<typeof NativeConnection.connect>[0])).rejects.toThrow(/certificate|handshake|tls|transport|connection/i);
  });

  it('without the server name the certificate (for temporal.test) does not match 127.0.0.1 and the connection fails', async () => {
    const conn = resolveConnection({ address: proxyAddress, tlsCa: pem('ca.pem'), tlsCert: pem('client.pem'), tlsKey: pem('client.key') }, {});
    await expect(NativeConnection.connect({ ...connectOptions(conn, conn.address!), connectTimeout: 5000 } as Parameters<typeof NativeConnection.connect>[0])).rejects.toThrow(/certificate|name|tls|transport|connection/i);
  });
});

describe('resolveConnection', () => {
  it('flags win over TEMPORAL_* variables; nothing given means plain TCP and no address', () => {
    expect(resolveConnection({}, {})).toEqual({ address: null, namespace: null, tls: undefined, apiKey: undefined });
    const c = resolveConnection({ address: 'a.example:7233', namespace: 'flag-ns' }, { TEMPORAL_ADDRESS: 'b.example:7233', TEMPORAL_NAMESPACE: 'env-ns' });
    expect([c.address, c.namespace, c.tls]).toEqual(['a.example:7233', 'flag-ns', undefined]);
    expect(resolveConnection({}, { TEMPORAL_ADDRESS: 'b.example:7233', TEMPORAL_TLS: 'true' }).tls).toEqual({});
  });

  it('an API key (file or TEMPORAL_API_KEY) implies TLS with the system CAs', () => {
    fs.writeFileSync(pem('api-key'), 'secret-key\n');
    expect(resolveConnection({ address: 'ns.acct.tmprl.cloud:7233', apiKeyFile: pem('api-key') }, {})).toEqual({ address: 'ns.acct.tmprl.cloud:7233', namespace: null, tls: {}, apiKey: 'secret-key' });
    expect(resolveConnection({}, { TEMPORAL_API_KEY: 'k2' })).toMatchObject({ tls: {}, apiKey: 'k2' });
    expect(connectOptions({ tls: {}, apiKey: 'k2' }, 'h:1')).toEqual({ address: 'h:1', tls: {}, apiKey: 'k2' });
  });

  it('bad input is named: address, missing files, a certificate without its key, non-PEM, both path and data, TEMPORAL_TLS=false with material', () => {
    expect(() => resolveConnection({ address: 'no-port' }, {})).toThrow(/address must be host:port, got "no-port"/);
    expect(() => resolveConnection({ tlsCa: '/nonexistent/ca.pem' }, {})).toThrow(/TLS CA: \/nonexistent\/ca.pem does not exist \(--tls-ca\)/);
    expect(() => resolveConnection({ tlsCert: pem('client.pem') }, {})).toThrow(/mTLS needs both a client certificate and its key; got only the certificate/);
    expect(() => resolveConnection({ tlsCa: pem('api-key') }, {})).toThrow(/TLS CA: .*api-key \(--tls-ca\) is not PEM/);
    expect(() => resolveConnection({}, { TEMPORAL_TLS_CA_PATH: pem('ca.pem'), TEMPORAL_TLS_CA_DATA: 'x' })).toThrow(/set TEMPORAL_TLS_CA_PATH or TEMPORAL_TLS_CA_DATA, not both/);
    expect(() => resolveConnection({ tlsCa: pem('ca.pem') }, { TEMPORAL_TLS: 'false' })).toThrow(/TEMPORAL_TLS=false contradicts/);
    expect(() => resolveConnection({}, { TEMPORAL_TLS: 'yes please' })).toThrow(/TEMPORAL_TLS must be true or false/);
    expect(() => resolveConnection({ apiKeyFile: pem('nope') }, {})).toThrow(/--api-key-file .*nope does not exist/);
  });
});

describe('the connection flags on the commands', () => {
  it('run, resume, status, cancel, worker and schedule nightly all take --address, --namespace, TLS and API-key flags', () => {
    const cli = buildCli();
    const cmds = ['run', 'resume', 'status', 'cancel', 'worker'].map((n) => cli.commands.find((c) => c.name() === n)!);
    cmds.push(cli.commands.find((c) => c.name() === 'schedule')!.commands.find((c) => c.name() === 'nightly')!);
    for (const c of cmds) {
      const help = c.helpInformation();
      for (const flag of ['--address <host:port>', '--namespace <ns>', '--tls ', '--tls-ca <file>', '--tls-cert <file>', '--tls-key <file>', '--tls-server-name <name>', '--api-key-file <file>']) {
        expect({ command: c.name(), flag, present: help.includes(flag) }).toEqual({ command: c.name(), flag, present: true });
      }
    }
    const worker = cmds[4]!.helpInformation();
    for (const flag of ['--health-file <file>', '--health-port <port>', '--log-json', '--artifacts <dir|url>']) expect(worker).toContain(flag);
  });
});
