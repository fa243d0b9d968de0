// How a dnd command reaches a production Temporal: address, namespace, TLS / mTLS and a Temporal Cloud
// API key, from `--flags` first and Temporal's own environment variables second, validated in one place.
// Not the connection itself (client.ts connects, cli.ts registers the flags on each command).
import * as fs from 'fs';
import type { Command } from 'commander';
import type { TLSConfig } from '@temporalio/client';
import { BadInputError } from '@dnd/core';

/** Where and how to connect: the options `Connection.connect` (client) and `NativeConnection.connect` (worker) share. */
export interface TemporalConnectionConfig {
  /** host:port of the frontend; null: none given (dnd run then starts a dev server). */
  address: string | null;
  /** Namespace; null: the run config's `temporal.namespace`. */
  namespace: string | null;
  /** TLS settings; undefined: plain TCP (the dev server). Set when any TLS option or an API key is given. */
  tls: TLSConfig | undefined;
  /** Temporal Cloud API key (sent as `Authorization: Bearer`); implies TLS. */
  apiKey: string | undefined;
}

/** The command-line flags, as commander parses them (camelCase). */
export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
  apiKeyFile?: string;
}

/**
 * The environment variables read, named as the Temporal CLI and SDK env config name them, so one set of
 * variables serves `temporal` and `dnd` alike. `_PATH` names a file; `_DATA` holds the PEM itself.
 */
export const CONNECTION_ENV = {
  address: 'TEMPORAL_ADDRESS', namespace: 'TEMPORAL_NAMESPACE', tls: 'TEMPORAL_TLS',
  caPath: 'TEMPORAL_TLS_CA_PATH', caData: 'TEMPORAL_TLS_CA_DATA',
  certPath: 'TEMPORAL_TLS_CLIENT_CERT_PATH', certData: 'TEMPORAL_TLS_CLIENT_CERT_DATA',
  keyPath: 'TEMPORAL_TLS_CLIENT_KEY_PATH', keyData: 'TEMPORAL_TLS_CLIENT_KEY_DATA',
  serverName: 'TEMPORAL_TLS_SERVER_NAME', apiKey: 'TEMPORAL_API_KEY',
} as const;

/**
 * Adds the connection flags to a command (`dnd run/resume/status/cancel/worker/schedule`).
 * @example addConnectionFlags(program.command('status')).action((o) => resolveConnection(o))
 */
export function addConnectionFlags(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', `Temporal frontend (env ${CONNECTION_ENV.address}); without it dnd run/resume start a local dev server`)
    .option('--namespace <ns>', `Temporal namespace (env ${CONNECTION_ENV.namespace}; default: the config's temporal.namespace)`)
    .option('--tls', `connect with TLS, trusting the system CAs (env ${CONNECTION_ENV.tls}=true); implied by the options below`)
    .option('--tls-ca <file>', `PEM CA that signed the server's certificate (env ${CONNECTION_ENV.caPath}, or the PEM in ${CONNECTION_ENV.caData})`)
    .option('--tls-cert <file>', `PEM client certificate for mTLS (env ${CONNECTION_ENV.certPath} / ${CONNECTION_ENV.certData})`)
    .option('--tls-key <file>', `PEM client private key for mTLS (env ${CONNECTION_ENV.keyPath} / ${CONNECTION_ENV.keyData})`)
    .option('--tls-server-name <name>', `TLS server name (SNI and certificate check) when it differs from the address's host (env ${CONNECTION_ENV.serverName})`)
    .option('--api-key-file <file>', `file holding a Temporal Cloud API key (env ${CONNECTION_ENV.apiKey} holds the key itself); implies TLS`);
}

// A PEM from the flag's file, else the env's inline PEM, else the env's file; undefined when none is given.
function readPem(what: string, flagFile: string | undefined, flagName: string, env: NodeJS.ProcessEnv, pathEnv: string, dataEnv: string): Buffer | undefined {
  const check = (buf: Buffer, source: string): Buffer => {
    if (!buf.includes('-----BEGIN')) throw new BadInputError(`${what}: ${source} is not PEM (no -----BEGIN line)`);
    return buf;
  };
  const fromFile = (file: string, source: string): Buffer => {
    if (!fs.existsSync(file)) throw new BadInputError(`${what}: ${file} does not exist (${source})`);
    return check(fs.readFileSync(file), `${file} (${source})`);
  };
  if (flagFile !== undefined) return fromFile(flagFile, flagName);
  if (env[pathEnv] && env[dataEnv]) throw new BadInputError(`${what}: set ${pathEnv} or ${dataEnv}, not both`);
  if (env[dataEnv]) return check(Buffer.from(env[dataEnv]!), dataEnv);
  if (env[pathEnv]) return fromFile(env[pathEnv]!, pathEnv);
  return undefined;
}

/**
 * Merges flags over environment into one validated TemporalConnectionConfig. Throws BadInputError naming
 * the flag or variable for a missing file, a certificate without its key, or a malformed address.
 * @example resolveConnection({ address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct' }, { TEMPORAL_API_KEY: 'k' })
 *   // { address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', tls: {}, apiKey: 'k' }
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): TemporalConnectionConfig {
  const E = CONNECTION_ENV;
  const pick = (flag: string | undefined, envName: string): [string | undefined, string] =>
    flag !== undefined ? [flag, 'flag'] : env[envName] ? [env[envName], envName] : [undefined, ''];
  const [address] = pick(flags.address, E.address);
  if (address !== undefined && !/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(address)) throw new BadInputError(`Temporal address must be host:port, got ${JSON.stringify(address)} (--address / ${E.address})`);
  const [namespace] = pick(flags.namespace, E.namespace);
  if (namespace !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(namespace)) throw new BadInputError(`Temporal namespace ${JSON.stringify(namespace)} is not a namespace name (--namespace / ${E.namespace})`);
  const ca = readPem('TLS CA', flags.tlsCa, '--tls-ca', env, E.caPath, E.caData);
  const crt = readPem('TLS client certificate', flags.tlsCert, '--tls-cert', env, E.certPath, E.certData);
  const key = readPem('TLS client key', flags.tlsKey, '--tls-key', env, E.keyPath, E.keyData);
  if (Boolean(crt) !== Boolean(key)) throw new BadInputError(`mTLS needs both a client certificate and its key; got only the ${crt ? 'certificate' : 'key'} (--tls-cert/--tls-key or ${E.certPath}/${E.keyPath})`);
  const [serverName] = pick(flags.tlsServerName, E.serverName);
  let apiKey: string | undefined;
  if (flags.apiKeyFile !== undefined) {
    if (!fs.existsSync(flags.apiKeyFile)) throw new BadInputError(`--api-key-file ${flags.apiKeyFile} does not exist`);
    apiKey = fs.readFileSync(flags.apiKeyFile, 'utf8').trim();
    if (!apiKey) throw new BadInputError(`--api-key-file ${flags.apiKeyFile} is empty`);
  } else if (env[E.apiKey]) apiKey = env[E.apiKey]!.trim();
  const envTls = env[E.tls];
  if (envTls !== undefined && envTls !== '' && !/^(true|false|1|0)$/i.test(envTls)) throw new BadInputError(`${E.tls} must be true or false, got ${JSON.stringify(envTls)}`);
  const wantTls = Boolean(flags.tls) || /^(true|1)$/i.test(envTls ?? '') || Boolean(ca || crt || serverName || apiKey);
  if (/^(false|0)$/i.test(envTls ?? '') && (ca || crt || apiKey)) throw new BadInputError(`${E.tls}=false contradicts the TLS material given (CA, client certificate or API key)`);
  const tls: TLSConfig | undefined = wantTls ? {
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(serverName ? { serverNameOverride: serverName } : {}),
  } : undefined;
  return { address: address ?? null, namespace: namespace ?? null, tls, apiKey };
}

/**
 * The part of a TemporalConnectionConfig that `Connection.connect` / `NativeConnection.connect` take.
 * @example await NativeConnection.connect(connectOptions(conf, 'localhost:7233'))
 */
export function connectOptions(c: Pick<TemporalConnectionConfig, 'tls' | 'apiKey'>, address: string): { address: string; tls?: TLSConfig; apiKey?: string } {
  return { address, ...(c.tls ? { tls: c.tls } : {}), ...(c.apiKey ? { apiKey: c.apiKey } : {}) };
}

/** A one-line description for logs, without secrets: `tls (ca, mtls, sni=x), api key`. */
export function describeConnection(c: TemporalConnectionConfig): string {
  if (!c.tls) return 'plain';
  const parts = [c.tls.serverRootCACertificate ? 'ca' : 'system ca', c.tls.clientCertPair ? 'mtls' : null, c.tls.serverNameOverride ? `sni=${c.tls.serverNameOverride}` : null].filter(Boolean);
  return `tls (${parts.join(', ')})${c.apiKey ? ', api key' : ''}`;
}
