/** ChainReader over the deployed contracts: the market for tasks, the game contract an event names for games. */
import type { Provider } from 'ethers';
import { IMultiPhaseDispute__factory, TaskMarket__factory } from '../../build/types';
import type { ChainReader } from './routing';

export function contractChainReader(provider: Provider, marketAddress: string): ChainReader {
  const market = TaskMarket__factory.connect(marketAddress, provider);
  const game = (address: string) => IMultiPhaseDispute__factory.connect(address, provider);
  return {
    async task(taskId) {
      const t = await market.getTask(taskId);
      return { provider: t.provider, modelId: t.modelId };
    },
    gameIdOf: (address, taskId, challengeIndex) => game(address).gameIdOf(taskId, challengeIndex),
    async game(address, gameId) {
      const g = await game(address).getGame(gameId);
      return { taskId: g.taskId, provider: g.provider, challenger: g.challenger };
    },
    async now() {
      const block = await provider.getBlock('latest');
      return block!.timestamp;
    },
  };
}
