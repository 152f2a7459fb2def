/**
 * Which copy of the package this is. An app can load two: a CommonJS library decorates a controller
 * while the ES-module app imports `ReliabilityModule`, or two versions are installed. Classes are
 * then distinct per copy, so the interceptor of one copy finds none of the services of the other's
 * module. `ReliabilityModule` provides its copy under a registered symbol, which every copy (of any
 * version) can inject, so the interceptor can tell "no module" from "another copy's module".
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { RELIABILITY_COPY } from './reliability.tokens.js';

/** A loaded copy of the package. */
export interface ReliabilityCopy {
  /** Its `package.json` version, when found. */
  readonly version: string | undefined;
  /** The directory of its build (`…/dist/cjs`, `…/dist/esm`), when known. */
  readonly location: string | undefined;
}

let thisCopy: ReliabilityCopy | undefined;

/** This copy: found from this file's own path, which works in both builds (no `__filename` in ESM). */
export function getThisReliabilityCopy(): ReliabilityCopy {
  thisCopy ??= describeCopy(ownFile());
  return thisCopy;
}

/** The error of an interceptor of one copy that meets the `ReliabilityModule` of another. */
export function twoCopiesError(module: ReliabilityCopy): Error {
  const name = (c: ReliabilityCopy): string =>
    `${c.version ?? 'unknown version'} at ${c.location ?? 'unknown path'}`;
  const own = getThisReliabilityCopy();
  const sameFiles = own.location !== undefined && own.location === module.location;
  const remedy = sameFiles
    ? 'The same files were loaded twice: a module registry reset (jest.resetModules, jest.isolateModules) or ' +
      'a bundler that duplicated them. Import the module and the decorated classes from one registry.'
    : 'Load one copy: a single installed version (`npm ls nestjs-reliability`), imported the same way ' +
      '(all `import` or all `require`) by the app and its libraries.';
  return new Error(
    'Two copies of nestjs-reliability are loaded: @UseResilience() comes from ' +
      `${name(own)}, ReliabilityModule from ${name(module)}, and its routes would run unprotected. ${remedy}`,
  );
}

function ownFile(): string | undefined {
  const original = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.prepareStackTrace = (_error, frames) => frames;
    Error.stackTraceLimit = 1; // an app may have set 0
    const frames = new Error().stack as unknown as NodeJS.CallSite[] | undefined;
    const file = frames?.[0]?.getFileName?.();
    if (typeof file !== 'string') return undefined;
    return file.startsWith('file:') ? fileURLToPath(file) : file;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
    Error.stackTraceLimit = limit;
  }
}

/** Walks up from the build's directory to the package's own `package.json` (dist/cjs has a bare one). */
function describeCopy(file: string | undefined): ReliabilityCopy {
  if (file === undefined) return { version: undefined, location: undefined };
  const location = dirname(file);
  for (let dir = location; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'nestjs-reliability' && typeof pkg.version === 'string') {
        return { version: pkg.version, location };
      }
    } catch {
      // No package.json here, or not readable: keep walking up.
    }
    if (dirname(dir) === dir) return { version: undefined, location };
  }
}
