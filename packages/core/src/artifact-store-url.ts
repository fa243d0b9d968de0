// Opens the ArtifactStore a URL names: `file:///abs/dir` (or a plain path) -> LocalArtifactStore,
// `s3://bucket/prefix?endpoint=...&region=...` -> S3ArtifactStore (checked: bucket and credentials).
// Not the stores themselves (artifacts.ts, s3-artifact-store.ts).
import * as path from 'path';
import { fileURLToPath } from 'url';
import { LocalArtifactStore, type ArtifactStore } from './artifacts';
import { BadInputError } from './bad-input';
import { S3ArtifactStore, type S3ArtifactStoreOptions } from './s3-artifact-store';

/** What openArtifactStore understands besides the URL. */
export interface OpenArtifactStoreOptions {
  /** Base directory of a relative path. Default: process.cwd(). */
  cwd?: string;
  /** Overrides for an s3:// URL (cacheDir, credentials, maxAttempts...); the URL's query wins over env, these win over both. */
  s3?: Partial<S3ArtifactStoreOptions>;
  /** Skip the bucket/credentials check of an s3:// store (tests of the failure paths call check() themselves). */
  skipCheck?: boolean;
}

/**
 * Parses an s3:// URL into S3ArtifactStoreOptions. Query parameters: `endpoint` (http(s) URL), `region`,
 * `pathStyle` (true|false). Credentials never go in the URL: the AWS credential chain supplies them.
 * @example parseS3Url('s3://dnd/runs?endpoint=http://127.0.0.1:8333') // { bucket: 'dnd', prefix: 'runs', endpoint: 'http://127.0.0.1:8333' }
 */
export function parseS3Url(url: string): S3ArtifactStoreOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BadInputError(`artifact store URL ${JSON.stringify(url)} is not a URL (expected s3://bucket/prefix or file:///dir)`);
  }
  if (u.protocol !== 's3:') throw new BadInputError(`parseS3Url: ${url} is not an s3:// URL`);
  if (u.username || u.password) throw new BadInputError(`artifact store URL ${u.protocol}//${u.host}${u.pathname}: credentials do not belong in the URL; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE`);
  const opts: S3ArtifactStoreOptions = { bucket: u.hostname, prefix: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '') };
  for (const [k, v] of u.searchParams) {
    if (k === 'endpoint') {
      if (!/^https?:\/\/[^/]+/.test(v)) throw new BadInputError(`artifact store URL: endpoint must be an http(s) URL, got ${JSON.stringify(v)}`);
      opts.endpoint = v;
    } else if (k === 'region') opts.region = v;
    else if (k === 'pathStyle') {
      if (v !== 'true' && v !== 'false') throw new BadInputError(`artifact store URL: pathStyle must be true or false, got ${JSON.stringify(v)}`);
      opts.forcePathStyle = v === 'true';
    } else throw new BadInputError(`artifact store URL: unknown parameter ${JSON.stringify(k)} (known: endpoint, region, pathStyle)`);
  }
  return opts;
}

/**
 * The store a URL names. A plain path or `file://` URL opens a LocalArtifactStore (the default, embedded);
 * `s3://bucket/prefix` opens an S3ArtifactStore and checks that the bucket exists and the credentials
 * work, so a wrong setting fails here with a clear error. The endpoint of an S3-compatible server comes
 * from `?endpoint=` or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
 * @example
 * const store = await openArtifactStore(process.env.DND_ARTIFACTS ?? 'runs/artifacts');
 * await openArtifactStore('s3://dnd/prod?endpoint=http://seaweed:8333'); // AWS_ACCESS_KEY_ID etc. from env
 */
export async function openArtifactStore(url: string, opts: OpenArtifactStoreOptions = {}): Promise<ArtifactStore> {
  if (!url) throw new BadInputError('artifact store URL is empty (expected s3://bucket/prefix, file:///dir or a directory path)');
  if (url.startsWith('s3://')) {
    const store = new S3ArtifactStore({ ...parseS3Url(url), ...opts.s3 });
    if (!opts.skipCheck) await store.check();
    return store;
  }
  if (url.startsWith('file://')) return new LocalArtifactStore(fileURLToPath(url));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new BadInputError(`artifact store URL ${JSON.stringify(url)}: unsupported scheme (use s3:// or file://)`);
  return new LocalArtifactStore(path.resolve(opts.cwd ?? process.cwd(), url));
}
