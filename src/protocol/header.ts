// Request and response headers. Which header version a frame uses depends on the API key
// and version in it: request header v2 / response header v1 for flexible API versions,
// v1 / v0 otherwise, with Kafka's two exceptions (ControlledShutdown v0 requests use
// header v0; ApiVersions responses always use header v0 so that any client can read them).

import { ApiKey, apiSchemas } from './generated/index.js';
import { readRequestHeader as readRequestHeaderFields } from './generated/request-header.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';


/** The request header version for an API version. Unknown keys and versions out of range get 1. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  const schema = apiSchemas.get(apiKey);
  if (schema === undefined || apiVersion < schema.minVersion || apiVersion > schema.maxVersion) return 1;
  return apiVersion >= schema.flexibleMinVersion ? 2 : 1;
}

/** The response header version for an API version. Unknown keys and versions out of range get 0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const schema = apiSchemas.get(apiKey);
  if (schema === undefined || apiVersion < schema.minVersion || apiVersion > schema.maxVersion) return 0;
  return apiVersion >= schema.flexibleMinVersion ? 1 : 0;
}

export interface RequestHeaderInfo {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  /** Null when the client sent a null client id; '' in header v0, which has none. */
  readonly clientId: string | null;
  /** The header version the frame was read with (0, 1 or 2). */
  readonly headerVersion: number;
}

/**
 * Reads a request header from the start of a request frame (after the size), leaving the
 * reader at the request body. An unknown API key, or a version outside the schema's range,
 * does not throw: the header is read as v1 (client id, no tagged fields), so that the
 * broker can still answer (ApiVersions) or close the connection cleanly. Throws
 * ProtocolError only for a malformed or truncated header.
 */
export function readRequestHeader(r: Reader): RequestHeaderInfo {
  const start = r.offset;
  const apiKey = r.int16();
  const apiVersion = r.int16();
  r.int32(); // correlation id, read again below
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  r.offset = start;
  const fields = readRequestHeaderFields(r, headerVersion);
  return {
    apiKey,
    apiVersion,
    correlationId: fields.correlationId,
    clientId: fields.clientId,
    headerVersion,
  };
}

/** Writes the response header (correlation id, and an empty tagged section in header v1). */
export function writeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) w.uvarint(0);
}
