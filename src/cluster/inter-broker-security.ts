// How a broker connects to another: on the inter-broker listener, with that listener's
// security as every broker of the cluster configures it (Kafka's assumption too) — TLS from
// its ssl.* keys (this broker's key store as the client certificate, its trust store for the
// other's), and on a SASL listener the login of sasl.mechanism.inter.broker.protocol and
// listener.name.<listener>.<mechanism>.sasl.jaas.config. Inter-broker connections then
// authenticate like any client, and the ACLs apply to them (the broker's user is usually
// one of super.users).

import type { BrokerConfig } from '../config/broker-config.js';
import type { ClientOptions } from '../network/kafka-client.js';
import { clientTlsOptions } from '../security/tls.js';

export type InterBrokerSecurity = Pick<ClientOptions, 'sasl' | 'tls'>;

/** The TLS options and login of a connection to another broker (the key files read now, so a rotated certificate is used by the next connection). */
export function interBrokerSecurity(config: BrokerConfig): InterBrokerSecurity {
  const listener = config.security.listeners.get(config.replication.interBrokerListenerName);
  const login = config.security.interBrokerLogin;
  return {
    ...(login !== null ? { sasl: login } : {}),
    ...(listener?.tls != null ? { tls: clientTlsOptions(listener.tls) } : {}),
  };
}
