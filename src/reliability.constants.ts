/** Injection token of the resolved, validated {@link ReliabilityConfig}. @publicApi */
export const RELIABILITY_CONFIG = Symbol.for('nestjs-reliability.config');
