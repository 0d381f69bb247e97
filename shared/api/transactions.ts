/**
 * Relaying transactions the caller signed: decode and check what they call before anything is sent,
 * simulate them so a revert is reported (422, decoded) without a transaction on chain, then broadcast
 * and optionally wait for the receipt. The API never holds a key: it only forwards signed bytes.
 */
import { Transaction, type Interface, type JsonRpcProvider, type Result, type TransactionReceipt } from 'ethers';
import { decodeMarketError } from '../market/errors';
import { ConflictError, InvalidRequestError, TransactionRejectedError, UpstreamError } from './errors';
import { RECEIPT_POLL_MS } from './services';

/** How long a relaying route waits for its receipt (API Gateway cuts a request off at 30 s). */
export const RECEIPT_WAIT_MS = 20_000;

export interface DecodedCall {
  tx: Transaction;
  from: string;
  name: string;
  args: Result;
}

/** Parses a signed transaction and decodes its call to `to` as one of `functions` of `iface`; 400 otherwise. */
export function decodeSignedCall(
  signedTransaction: string,
  expected: { to: string; chainId: bigint; iface: Interface; functions: readonly string[]; contractName: string },
): DecodedCall {
  const field = 'signedTransaction';
  let tx: Transaction;
  try {
    tx = Transaction.from(signedTransaction);
  } catch (e) {
    throw new InvalidRequestError(`not a signed raw transaction: ${(e as Error).message.split(' (')[0]}`, field);
  }
  if (!tx.isSigned() || !tx.from) throw new InvalidRequestError('the transaction is not signed: sign it with the sending wallet and send the serialized bytes', field);
  if (tx.chainId !== expected.chainId) throw new InvalidRequestError(`the transaction is for chain ${tx.chainId}, this market is on chain ${expected.chainId}`, `${field}.chainId`);
  if (!tx.to || tx.to.toLowerCase() !== expected.to.toLowerCase())
    throw new InvalidRequestError(`the transaction goes to ${tx.to ?? '(contract creation)'}, not the ${expected.contractName} at ${expected.to}`, `${field}.to`);
  if (tx.value !== 0n) throw new InvalidRequestError(`the transaction sends ${tx.value} wei; the ${expected.contractName} takes no ether`, `${field}.value`);
  const parsed = (() => {
    try {
      return expected.iface.parseTransaction({ data: tx.data });
    } catch {
      return null;
    }
  })();
  if (!parsed || !expected.functions.includes(parsed.name))
    throw new InvalidRequestError(
      `the transaction calls ${parsed ? parsed.name : `unknown selector ${tx.data.slice(0, 10)}`} on the ${expected.contractName}; this route relays only ${expected.functions.join(' or ')}`,
      `${field}.data`,
    );
  return { tx, from: tx.from, name: parsed.name, args: parsed.args };
}

const stringify = (v: unknown): string => (typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? v : JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)));

function rejected(error: unknown, when: string): TransactionRejectedError {
  const decoded = decodeMarketError(error);
  if (decoded) {
    const args = [...decoded.args].map(stringify);
    return new TransactionRejectedError(`the transaction reverts ${when} with ${decoded.name}(${args.join(', ')})`, { name: decoded.name, args }, { cause: error });
  }
  const reason = (error as { shortMessage?: string; reason?: string }).reason ?? (error as { shortMessage?: string }).shortMessage ?? String(error);
  return new TransactionRejectedError(`the transaction reverts ${when}: ${reason}`, undefined, { cause: error });
}

const isRevert = (e: unknown): boolean => (e as { code?: string }).code === 'CALL_EXCEPTION';

/** Runs the call against the current state; a revert is a 422 and nothing is sent. */
export async function simulate(provider: JsonRpcProvider, call: DecodedCall, blockTag: string | number = 'latest'): Promise<void> {
  try {
    await provider.call({ from: call.from, to: call.tx.to, data: call.tx.data, gasLimit: call.tx.gasLimit, blockTag });
  } catch (e) {
    if (isRevert(e)) throw rejected(e, blockTag === 'latest' ? 'against the current chain state' : 'when mined');
    throw new UpstreamError('simulating the transaction', e);
  }
}

/** Sends the signed bytes; refusals of the node (nonce, funds, fee) are 409 / 422 with the node's reason. */
export async function broadcast(provider: JsonRpcProvider, call: DecodedCall): Promise<string> {
  try {
    return (await provider.broadcastTransaction(call.tx.serialized)).hash;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const message = (e as { shortMessage?: string }).shortMessage ?? (e as Error).message;
    if (code === 'NONCE_EXPIRED' || code === 'REPLACEMENT_UNDERPRICED' || /already known|nonce too low/i.test(message))
      throw new ConflictError(`the node refused the transaction (${message}): re-sign it with the sender's current nonce`, { cause: e });
    if (code === 'INSUFFICIENT_FUNDS') throw new TransactionRejectedError(`the sender cannot pay for gas: ${message}`, undefined, { cause: e });
    if (isRevert(e)) throw rejected(e, 'when sent');
    throw new UpstreamError('broadcasting the transaction', e);
  }
}

/** The receipt once mined, null after `timeoutMs`; a mined revert is a 422 with the error decoded by replaying it. */
export async function waitForReceipt(provider: JsonRpcProvider, call: DecodedCall, hash: string, timeoutMs: number): Promise<TransactionReceipt | null> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt) {
      if (receipt.status === 1) return receipt;
      // Replaying on the parent block state is the closest to what the transaction saw.
      await simulate(provider, call, receipt.blockNumber - 1);
      throw new TransactionRejectedError(`transaction ${hash} reverted in block ${receipt.blockNumber}`);
    }
    if (Date.now() >= until) return null;
    await new Promise((r) => setTimeout(r, RECEIPT_POLL_MS));
  }
}

/** The first log of `eventName` the contract at `address` emitted in the receipt. */
export function eventOf(receipt: TransactionReceipt, address: string, iface: Interface, eventName: string): Result {
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address.toLowerCase()) continue;
    const parsed = iface.parseLog(log);
    if (parsed?.name === eventName) return parsed.args;
  }
  throw new Error(`transaction ${receipt.hash} emitted no ${eventName}`);
}
