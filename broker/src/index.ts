export { startBroker, type Broker, type StartBrokerOptions } from './broker.js';
export type { BrokerConfig } from './config/index.js';
export { main } from './cli/main.js';
export { parseBrokerArgs, CliUsageError } from './cli/args.js';
export * from './observability/index.js';
export { createKafkaServer, type KafkaServer, type KafkaServerOptions } from './kafka/server/kafka-server.js';
export type { ApiHandler, Handler, MessageBody, RequestContext } from './kafka/server/handler.js';
