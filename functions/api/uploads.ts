/** HTTP API (payload v2): POST /uploads, GET /uploads/{uploadId}, POST /uploads/{uploadId}/parts, POST /uploads/{uploadId}/complete. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { uploadRoutes } from '../../shared/api/routes/uploads';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(uploadRoutes);
