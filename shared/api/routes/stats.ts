/** GET /stats: market-wide figures folded from the materialized views. */
import { ok, route, type Route } from '../router';
import {
  dailyViewSchema,
  disputeViewSchema,
  modelViewSchema,
  providerViewSchema,
  taskViewSchema,
  type DailyView,
  type DisputeView,
  type ModelView,
  type ProviderView,
  type StatsResponse,
  type TaskView,
} from '../schemas';
import { apiServices, type ApiServices } from '../services';
import { allViews } from '../viewList';
import type { z } from 'zod';

const is =
  <T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>) =>
  (state: unknown): state is T =>
    schema.safeParse(state).success;

const sum = (values: string[]): string => values.reduce((a, v) => a + BigInt(v), 0n).toString();

export async function marketStats(s: ApiServices): Promise<StatsResponse> {
  const [tasks, daily, disputes, providers, models] = await Promise.all([
    allViews(s.s3, s.views, 'tasks', is<TaskView>(taskViewSchema)),
    allViews(s.s3, s.views, 'daily', is<DailyView>(dailyViewSchema)),
    allViews(s.s3, s.views, 'disputes', is<DisputeView>(disputeViewSchema)),
    allViews(s.s3, s.views, 'providers', is<ProviderView>(providerViewSchema)),
    allViews(s.s3, s.views, 'models', is<ModelView>(modelViewSchema)),
  ]);
  const tasksByStatus: Record<string, number> = {};
  for (const t of tasks) tasksByStatus[t.status] = (tasksByStatus[t.status] ?? 0) + 1;
  const finalizedSeconds = tasks
    .filter((t) => t.status === 'Finalized' && typeof t.finalizedAt === 'number' && t.createdAt !== null)
    .map((t) => t.finalizedAt! - t.createdAt!)
    .sort((a, b) => a - b);
  return {
    tasksByStatus,
    daily: daily.sort((a, b) => a.day.localeCompare(b.day)),
    disputes: {
      total: disputes.length,
      challengerWon: disputes.filter((d) => d.status === 'ChallengerWon').length,
      providerWon: disputes.filter((d) => d.status === 'ProviderWon').length,
      pending: disputes.filter((d) => d.status === 'Pending').length,
    },
    stake: {
      staked: sum(providers.map((p) => p.staked)),
      locked: sum(providers.map((p) => p.locked)),
      slashed: sum(providers.map((p) => p.slashed)),
    },
    models: models
      .filter((m) => m.owner !== null)
      .map((m) => ({ modelId: m.modelId, tasks: m.tasks }))
      .sort((a, b) => Number(a.modelId) - Number(b.modelId)),
    latency: { finalizedSeconds },
  };
}

export const statsRoutes: Route[] = [
  route({
    method: 'GET',
    path: '/stats',
    async handle() {
      return ok(await marketStats(await apiServices()));
    },
  }),
];
