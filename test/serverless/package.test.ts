/**
 * `osls package` offline (no AWS credentials, telemetry off) into a temporary folder: the CloudFormation
 * template has every function with its own role, each route of the HTTP API, the schedule, the SQS event
 * sources with partial batch failures, every queue FIFO with a FIFO DLQ and redrive after 5 receives, and
 * private encrypted buckets; the zips hold the kernel ELF and the dashboard.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');
const FUNCTIONS = ['apiHealth', 'apiInputs', 'apiBlobs', 'apiTasks', 'apiUploads', 'apiModels', 'apiProviders', 'apiStats', 'apiDashboard', 'indexer', 'views', 'dispatcher', 'pinner'];
const ROUTES = [
  'GET /health', 'POST /inputs', 'GET /blobs/{cid}', 'POST /tasks', 'GET /tasks', 'GET /tasks/{taskId}',
  'POST /uploads', 'GET /uploads/{uploadId}', 'POST /uploads/{uploadId}/parts', 'POST /uploads/{uploadId}/complete',
  'POST /models/packages', 'GET /models/packages/{graphCid}/{weightsCid}', 'POST /models',
  'GET /models', 'GET /models/{modelId}', 'GET /providers', 'GET /providers/{address}', 'GET /stats', 'GET /dashboard', 'GET /dashboard/{file}',
];
const QUEUES = ['EventsViews', 'EventsDispatch', 'Pin', 'WorkerProviderHonest', 'WorkerProvider2', 'WorkerChallenger'];
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

type Resource = { Type: string; Properties: Record<string, any> };
let dir: string;
let resources: Record<string, Resource>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sls-package-'));
  const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: 'none-such-profile' };
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js'), 'package', '--stage', 'prod', '--package', dir], { cwd: ROOT, env, maxBuffer: 1 << 24 });
  resources = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')).Resources;
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('every function, with its own role, and every API route', () => {
  for (const fn of FUNCTIONS) {
    const f = resources[`${cap(fn)}LambdaFunction`];
    expect(f?.Type).toBe('AWS::Lambda::Function');
    expect(f!.Properties.Runtime).toBe('nodejs20.x');
    expect(f!.Properties.Role).toEqual({ 'Fn::GetAtt': [`${cap(fn)}IamRoleLambdaExecution`, 'Arn'] });
    expect(f!.Properties.Environment.Variables.OPML_DATA_BUCKET).toEqual({ Ref: 'DataBucket' });
  }
  const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey);
  expect(routes.sort()).toEqual([...ROUTES].sort());
});

test('least privilege: the health route has no data access, the indexer only sends to the event queues', () => {
  const statements = (fn: string) => resources[`${cap(fn)}IamRoleLambdaExecution`]!.Properties.Policies[0].PolicyDocument.Statement as Array<{ Action: string[]; Resource: unknown }>;
  const actions = (fn: string) => statements(fn).flatMap((s) => s.Action);
  expect(actions('apiHealth').every((a) => a.startsWith('logs:'))).toBe(true);
  expect(actions('apiStats')).not.toContain('s3:PutObject');
  expect(actions('indexer')).toContain('sqs:SendMessage');
  expect(actions('indexer')).not.toContain('sqs:ReceiveMessage');
  expect(JSON.stringify(statements('indexer'))).not.toContain('DataBucket');
  expect(actions('views')).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 's3:PutObject']));
  expect(JSON.stringify(statements('dispatcher'))).toContain('WorkerChallengerQueue');
  // Part URLs are signed with the uploads role, and package verification is queued by the models role.
  expect(actions('apiUploads')).toEqual(expect.arrayContaining(['s3:PutObject']));
  expect(actions('apiUploads')).not.toContain('sqs:SendMessage');
  expect(JSON.stringify(statements('apiModels'))).toContain('PinQueue');
});

test('big packages: abandoned multipart uploads expire, and the pinner can stream and verify a 7 GB blob', () => {
  expect(resources.DataBucket!.Properties.LifecycleConfiguration.Rules).toEqual([
    { Id: 'abandoned-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
  ]);
  const pinner = resources.PinnerLambdaFunction!.Properties;
  expect(pinner.Timeout).toBe(900);
  expect(pinner.EphemeralStorage).toEqual({ Size: 10240 });
  // The queue hides a message longer than the function can run, so a verification is never run twice at once.
  expect(resources.PinQueue!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * 900);
});

test('schedule and SQS event sources with partial batch failures', () => {
  const rule = Object.values(resources).find((r) => r.Type === 'AWS::Events::Rule');
  expect(rule?.Properties.ScheduleExpression).toBe('rate(1 minute)');
  const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
  expect(mappings.map((m) => m.Properties.EventSourceArn['Fn::GetAtt'][0]).sort()).toEqual(['EventsDispatchQueue', 'EventsViewsQueue', 'PinQueue']);
  for (const m of mappings) expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
});

test('every queue is FIFO with a FIFO dead-letter queue after 5 receives', () => {
  for (const q of QUEUES) {
    const main = resources[`${q}Queue`]!;
    const dlq = resources[`${q}Dlq`]!;
    expect(main.Properties.FifoQueue).toBe(true);
    expect(dlq.Properties.FifoQueue).toBe(true);
    expect(main.Properties.QueueName).toMatch(/\.fifo$/);
    expect(dlq.Properties.QueueName).toMatch(/-dlq\.fifo$/);
    expect(main.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [`${q}Dlq`, 'Arn'] }, maxReceiveCount: 5 });
  }
});

test('buckets are private and encrypted, views versioned; the zips carry the kernel ELF and the dashboard', async () => {
  for (const b of ['DataBucket', 'ViewsBucket']) {
    const p = resources[b]!.Properties;
    expect(p.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
  }
  expect(resources.ViewsBucket!.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  const { stdout } = await promisify(execFile)('unzip', ['-l', join(dir, 'apiModels.zip')]);
  expect(stdout).toContain('build/guest/dnn-kernels.elf');
  expect(stdout).toContain('functions/api/models.js');
  expect((await promisify(execFile)('unzip', ['-l', join(dir, 'apiDashboard.zip')])).stdout).toContain('build/dashboard/index.html');
});
