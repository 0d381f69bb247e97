/**
 * The API's route groups, one Lambda function each (functions/api/<group>.ts), and the whole table
 * for a single local server. Groups keep each function's permissions and cold start to what it uses.
 */
import type { Route } from './router';
import { blobRoutes } from './routes/blobs';
import { dashboardRoutes } from './routes/dashboard';
import { healthRoutes } from './routes/health';
import { inputRoutes } from './routes/inputs';
import { modelRoutes } from './routes/models';
import { providerRoutes } from './routes/providers';
import { statsRoutes } from './routes/stats';
import { taskRoutes } from './routes/tasks';
import { uploadRoutes } from './routes/uploads';

export const ROUTE_GROUPS = {
  health: healthRoutes,
  inputs: inputRoutes,
  blobs: blobRoutes,
  tasks: taskRoutes,
  uploads: uploadRoutes,
  models: modelRoutes,
  providers: providerRoutes,
  stats: statsRoutes,
  dashboard: dashboardRoutes,
} as const satisfies Record<string, readonly Route[]>;

export type RouteGroup = keyof typeof ROUTE_GROUPS;

export const ALL_ROUTES: readonly Route[] = Object.values(ROUTE_GROUPS).flat();
