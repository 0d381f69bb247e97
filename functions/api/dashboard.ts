/** HTTP API (payload v2): GET /dashboard, GET /dashboard/{file}. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { dashboardRoutes } from '../../shared/api/routes/dashboard';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(dashboardRoutes);
