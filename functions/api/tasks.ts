/** HTTP API (payload v2): POST /tasks, GET /tasks, GET /tasks/{taskId}. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { taskRoutes } from '../../shared/api/routes/tasks';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(taskRoutes);
