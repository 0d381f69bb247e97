/**
 * Body limits, read from the same environment variables as the service config but without building
 * the services: a 413 must not wait for (or depend on) the chain and the stores.
 */
import { serviceEnvSchema } from '../../service/config';

/** Room for the JSON around a base64 payload (field names, a spec text, a fee). */
const JSON_OVERHEAD = 64 * 1024;

/** The largest body carrying `variable` bytes as base64 inside JSON. */
export function bodyLimitOf(variable: 'OPML_MAX_INPUT_BYTES'): () => number {
  return () => {
    const bytes = serviceEnvSchema.shape[variable].parse(process.env[variable]);
    return Math.ceil(bytes / 3) * 4 + JSON_OVERHEAD;
  };
}

/** A signed transaction in JSON: calldata of a task request or a model spec is a few KiB. */
export const TRANSACTION_BODY_BYTES = (): number => 128 * 1024;
