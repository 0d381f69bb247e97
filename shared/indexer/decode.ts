/** Contract logs to zod-checked event records, through the typechain ABIs of the market's contracts. */
import { getAddress, type Interface, type Log } from 'ethers';
import { IMultiPhaseDispute__factory, ModelRegistry__factory, Staking__factory, TaskMarket__factory } from '../../build/types';
import { chainEventSchema, type ArgValue, type ChainEvent, type ContractKind } from '../schemas/events';

const INTERFACES: Record<ContractKind, Interface> = {
  market: TaskMarket__factory.createInterface(),
  registry: ModelRegistry__factory.createInterface(),
  staking: Staking__factory.createInterface(),
  game: IMultiPhaseDispute__factory.createInterface(),
};

export type WatchedContracts = Partial<Record<ContractKind, string>>;

/** A log from a watched address that its ABI cannot decode into a valid record: the ABI and chain disagree. */
export class IndexerDecodeError extends Error {
  override name = 'IndexerDecodeError';
  constructor(readonly txHash: string, readonly logIndex: number, readonly address: string, reason: string) {
    super(`log ${txHash}:${logIndex} from ${address}: ${reason}`);
  }
}

function toArg(value: unknown): ArgValue {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(toArg);
  throw new Error(`unsupported event argument ${String(value)}`);
}

export class EventDecoder {
  private readonly byAddress = new Map<string, ContractKind>();

  constructor(contracts: WatchedContracts) {
    for (const [kind, address] of Object.entries(contracts) as Array<[ContractKind, string | undefined]>) {
      if (address) this.byAddress.set(getAddress(address), kind);
    }
  }

  get addresses(): string[] {
    return [...this.byAddress.keys()];
  }

  /**
   * The record of one log, or null for events of the watched contracts no view consumes (role changes,
   * events of the OpenZeppelin bases the ABI does not declare).
   */
  decode(log: Log, timestamp: number): ChainEvent | null {
    const kind = this.byAddress.get(getAddress(log.address));
    if (!kind) return null;
    try {
      const parsed = INTERFACES[kind].parseLog({ topics: [...log.topics], data: log.data });
      if (!parsed) return null;
      const args: Record<string, ArgValue> = {};
      parsed.fragment.inputs.forEach((input, i) => {
        args[input.name] = toArg(parsed.args[i]);
      });
      return chainEventSchema.parse({
        id: `${log.transactionHash.toLowerCase()}:${log.index}`,
        contract: kind,
        address: getAddress(log.address),
        name: parsed.name,
        blockNumber: log.blockNumber,
        blockHash: log.blockHash,
        timestamp,
        txHash: log.transactionHash.toLowerCase(),
        logIndex: log.index,
        args,
      });
    } catch (e) {
      throw new IndexerDecodeError(log.transactionHash, log.index, log.address, e instanceof Error ? e.message : String(e));
    }
  }
}
