/** Injection token of the validated health options given to `forRoot` / `forRootAsync` (or `null`). */
export const HEALTH_OPTIONS = Symbol.for('nestjs-reliability.health-options');
