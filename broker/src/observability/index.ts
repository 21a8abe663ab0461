export { createLogger, silentLogger, defaultLogFormat, type Logger, type LogFormat, type LogLevel, type LoggerOptions } from './logger.js';
export { createBrokerMetrics, createMetricsRegistry, counter, gauge, histogram, type BrokerMetrics } from './metrics.js';
export { startHttpServer, type HttpServerOptions, type ObservabilityServer, type ReadinessCheck } from './http-server.js';
