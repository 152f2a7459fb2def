/**
 * Loads the bench server's TypeScript with `ts.transpileModule`, not ts-node: ts-node loads Node's
 * `repl`, which loads `domain`, which patches every EventEmitter and doubles the cost of
 * `AsyncResource.bind`, that is of every Nest interceptor. A compiled app pays for neither, so the
 * server is measured the way it would run in production. Relative `.js` imports resolve to `.ts`.
 */
const fs = require('node:fs');
const Module = require('node:module');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
};

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  module._compile(ts.transpileModule(source, { compilerOptions, fileName: filename }).outputText, filename);
};

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (error) {
    if (request.startsWith('.') && request.endsWith('.js')) {
      return resolve.call(this, request.slice(0, -3) + '.ts', parent, ...rest);
    }
    throw error;
  }
};
