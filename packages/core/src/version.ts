// The package version as a value, read from package.json at load time (recorded in run manifests).
// Not a build-time constant: the published package.json is the single source of truth.
import pkg from '../package.json';

/** Version of @dnd/core, e.g. `"0.1.0"`. */
export const CORE_VERSION: string = pkg.version;
