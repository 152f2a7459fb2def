// Builds the package twice from one source: CommonJS for Nest 11 apps (and jest), ES modules for
// Nest 12 apps, each with its own declarations. Then checks what it built, because both builds
// compile cleanly in cases that only fail when a user's app loads them:
// - the ESM build uses moduleResolution "bundler", which accepts a relative import without `.js`
//   that Node's ESM loader rejects;
// - an optional peer (@nestjs/config, @nestjs/terminus, @prisma/client) imported eagerly breaks
//   every app that does not have it;
// - a real `import()` left in the CJS build fails under jest without --experimental-vm-modules;
// - an import of a devDependency works here and nowhere else.
// No source maps: they would point at src/, which is not published. tsconfig.build.json turns
// isolatedModules off: these are whole-program builds, so TypeScript knows which decorated
// parameter types are interfaces (TS1272 only concerns per-file transpilers, such as ts-jest).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ts = require('typescript');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function tsc(project) {
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch {
    console.error(`build: tsc -p ${project} failed (errors above)`);
    process.exit(1);
  }
}

// `--check` only checks an existing dist/.
if (!process.argv.includes('--check')) {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  tsc('tsconfig.build.cjs.json');
  tsc('tsconfig.build.esm.json');
  for (const [dir, type] of [
    ['dist/cjs', 'commonjs'],
    ['dist/esm', 'module'],
  ]) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'package.json'), JSON.stringify({ type }) + '\n');
  }
}

const allowed = new Set([...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.dependencies ?? {})]);
const optional = Object.entries(pkg.peerDependenciesMeta ?? {})
  .filter(([, meta]) => meta.optional)
  .map(([name]) => name);
const problems = [
  ...checkExportTargets(),
  ...checkImports('dist/cjs', 'cjs'),
  ...checkImports('dist/esm', 'esm'),
];
if (problems.length > 0) {
  console.error(`build: ${problems.length} problem(s) in dist:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
smokeLoad();

/** Static check of every import, export-from, import() and require() in one build. */
function checkImports(dir, format) {
  const found = [];
  for (const file of jsFiles(join(root, dir))) {
    const where = relative(root, file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    for (const { specifier, kind, topLevel } of specifiersOf(source)) {
      if (kind === 'require' && format === 'esm')
        found.push(`${where}: require('${specifier}') in the ESM build`);
      if (kind === 'dynamic' && format === 'cjs')
        found.push(`${where}: import('${specifier}') left in the CJS build (jest cannot run it)`);
      if (specifier.startsWith('.')) {
        if (!specifier.endsWith('.js')) found.push(`${where}: relative import '${specifier}' lacks '.js'`);
        else if (!existsSync(resolve(dirname(file), specifier)))
          found.push(`${where}: '${specifier}' does not exist`);
        continue;
      }
      const name = packageName(specifier);
      if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      if (!allowed.has(name)) found.push(`${where}: imports '${specifier}', which is no (peer) dependency`);
      const eager = kind === 'static' || (kind === 'require' && topLevel);
      if (eager && optional.includes(name))
        found.push(`${where}: imports the optional peer '${specifier}' eagerly; use a lazy import()`);
    }
  }
  return found;
}

function specifiersOf(source) {
  const out = [];
  const visit = (node, depth) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      out.push({ specifier: node.moduleSpecifier.text, kind: 'static', topLevel: true });
    } else if (
      ts.isCallExpression(node) &&
      node.arguments.length === 1 &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword)
        out.push({ specifier: node.arguments[0].text, kind: 'dynamic', topLevel: depth === 0 });
      else if (ts.isIdentifier(node.expression) && node.expression.text === 'require')
        out.push({ specifier: node.arguments[0].text, kind: 'require', topLevel: depth === 0 });
    }
    const inner = ts.isFunctionLike(node) ? depth + 1 : depth;
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, 0);
  return out;
}

/** The package's entry points (`exports` subpaths other than package.json), e.g. '.' and './testing'. */
function entryPoints() {
  return Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json');
}

/** Every file the `exports` map names exists. */
function checkExportTargets() {
  const found = [];
  const visit = (subpath, target) => {
    if (typeof target === 'string') {
      if (!existsSync(join(root, target)))
        found.push(`exports['${subpath}'] names '${target}', which was not built`);
    } else for (const inner of Object.values(target)) visit(subpath, inner);
  };
  for (const [subpath, target] of Object.entries(pkg.exports)) visit(subpath, target);
  return found;
}

/**
 * Loads every entry point in a child Node, by the package's own name (so through the `exports`
 * map), with require() and with import(), the optional peers made unresolvable; checks that each
 * resolves into its build and that both builds export the same names. Uses the Nest 11
 * (CommonJS) installed here, so the ESM build's named imports from CommonJS packages are checked too.
 */
function smokeLoad() {
  const hook = `
    const blocked = ${JSON.stringify(optional)};
    export async function resolve(specifier, context, next) {
      if (blocked.some((b) => specifier === b || specifier.startsWith(b + '/')))
        throw Object.assign(new Error('blocked optional peer ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
      return next(specifier, context);
    }`;
  const specifiers = entryPoints().map((subpath) => pkg.name + subpath.slice(1));
  const script = `
    import Module, { register } from 'node:module';
    const blocked = ${JSON.stringify(optional)};
    const original = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (blocked.some((b) => request === b || request.startsWith(b + '/')))
        throw Object.assign(new Error('blocked optional peer ' + request), { code: 'MODULE_NOT_FOUND' });
      return original.call(this, request, ...rest);
    };
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
    const req = Module.createRequire(${JSON.stringify(join(root, 'package.json'))});
    const names = (m) => Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule').sort();
    const out = {};
    for (const specifier of ${JSON.stringify(specifiers)}) {
      const cjs = req(specifier);
      const esm = await import(specifier);
      out[specifier] = {
        cjsFile: req.resolve(specifier),
        esmFile: new URL(import.meta.resolve(specifier)).pathname,
        cjs: names(cjs),
        esm: names(esm),
      };
    }
    console.log(JSON.stringify(out));`;
  let result;
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    result = JSON.parse(out.trim().split('\n').pop());
  } catch {
    console.error(
      'build: loading the entry points from dist/cjs or dist/esm failed (optional peers blocked); see above',
    );
    process.exit(1);
  }
  const expected = { [pkg.name]: 'ReliabilityModule', [`${pkg.name}/testing`]: 'ReliabilityTestingModule' };
  for (const [specifier, r] of Object.entries(result)) {
    const inBuild = (file, dir) => relative(join(root, dir), file).split(/[\\/]/)[0] !== '..';
    const onlyCjs = r.cjs.filter((n) => !r.esm.includes(n));
    const onlyEsm = r.esm.filter((n) => !r.cjs.includes(n));
    const problems = [
      !inBuild(r.cjsFile, 'dist/cjs') && `require() resolves to ${r.cjsFile}, outside dist/cjs`,
      !inBuild(r.esmFile, 'dist/esm') && `import resolves to ${r.esmFile}, outside dist/esm`,
      onlyCjs.length + onlyEsm.length > 0 &&
        `the builds export different names: only CJS ${onlyCjs}, only ESM ${onlyEsm}`,
      expected[specifier] && !r.esm.includes(expected[specifier]) && `no ${expected[specifier]} export`,
    ].filter(Boolean);
    if (problems.length > 0) {
      console.error(`build: '${specifier}': ${problems.join('; ')}`);
      process.exit(1);
    }
  }
  const counts = Object.entries(result).map(([specifier, r]) => `${specifier} ${r.esm.length}`);
  console.log(`build: dist/cjs and dist/esm load without optional peers; exports each: ${counts.join(', ')}`);
}

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
