/** HTTP API (payload v2): POST /inputs. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { inputRoutes } from '../../shared/api/routes/inputs';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(inputRoutes);
