/**
 * Decoding of the market contracts' custom errors, so callers branch on an error's name and values
 * instead of on revert text.
 */
import { Interface, type ErrorDescription } from 'ethers';
import {
  MarketToken__factory,
  ModelRegistry__factory,
  Staking__factory,
  TaskMarket__factory,
  TestConsumer__factory,
  TestDisputeGame__factory,
} from '../../build/types';

const ABIS = [TaskMarket__factory, Staking__factory, ModelRegistry__factory, MarketToken__factory, TestDisputeGame__factory, TestConsumer__factory];

/** Every error any market contract can raise (OpenZeppelin's included), deduplicated by selector. */
export const marketErrorsInterface = new Interface(
  [
    ...new Map(
      ABIS.flatMap((f) => f.abi.filter((item) => item.type === 'error')).map((item) => [JSON.stringify(item), item]),
    ).values(),
  ],
);

/** A market contract reverted with a custom error we know. */
export class MarketRevertError extends Error {
  override name = 'MarketRevertError';
  constructor(
    readonly errorName: string,
    readonly args: readonly unknown[],
    options?: { cause?: unknown },
  ) {
    super(`${errorName}(${args.map(String).join(', ')})`, options);
  }
}

/** Finds the revert data ethers carries somewhere in a failed call's error object. */
export function revertDataOf(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || error === null || typeof error !== 'object') return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.data === 'string' && /^0x[0-9a-fA-F]{8}/.test(e.data)) return e.data;
  for (const key of ['error', 'info', 'cause', 'data']) {
    const found = revertDataOf(e[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The custom error in a failed call, or undefined when there is none we know. */
export function decodeMarketError(error: unknown): ErrorDescription | undefined {
  const data = revertDataOf(error);
  if (!data) return undefined;
  try {
    return marketErrorsInterface.parseError(data) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Rethrows a failed call as a MarketRevertError when its revert data names a known error. */
export function toMarketError(error: unknown): unknown {
  const decoded = decodeMarketError(error);
  return decoded ? new MarketRevertError(decoded.name, [...decoded.args], { cause: error }) : error;
}
