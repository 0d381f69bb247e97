/** `npm run deploy`'s environment: the real dispute game by default, conflicting choices refused. */
import { DeployEnvError, disputeOptionsFromEnv, parseDeployEnv } from '../../shared/market/deployConfig';

const VERIFIER = '0x0165878A594ca255338adfa4d48449f69242Eb8F';
const GAME = '0xa513E6E4b8f2a923D98304ec87F64353C4D5C853';

const options = (env: NodeJS.ProcessEnv) => disputeOptionsFromEnv(parseDeployEnv(env).env);

it('deploys the real game by default, locally and remotely', () => {
  expect(options({})).toMatchObject({ disputeGame: true, testDisputeGame: false, disputeFactory: undefined });
  expect(options({ RPC_URL: 'https://rpc.example', DEPLOYER_KEY: '0x' + '11'.repeat(32) })).toMatchObject({ disputeGame: true });
  expect(options({ VERIFIER_ADDRESS: VERIFIER, DISPUTE_CLOCK_SECONDS: '7200' })).toMatchObject({ disputeGame: true, verifier: VERIFIER, disputeClockSeconds: 7200 });
});

it('uses an existing game or the test game only when asked', () => {
  expect(options({ DISPUTE_FACTORY: GAME })).toMatchObject({ disputeGame: false, testDisputeGame: false, disputeFactory: GAME });
  expect(options({ TEST_DISPUTE_GAME: '1' })).toMatchObject({ disputeGame: false, testDisputeGame: true });
});

it.each([
  [{ DISPUTE_FACTORY: GAME, TEST_DISPUTE_GAME: '1' }, 'TEST_DISPUTE_GAME'],
  [{ VERIFIER_ADDRESS: VERIFIER, TEST_DISPUTE_GAME: '1' }, 'VERIFIER_ADDRESS'],
  [{ VERIFIER_ADDRESS: VERIFIER, DISPUTE_FACTORY: GAME }, 'VERIFIER_ADDRESS'],
  [{ DISPUTE_CLOCK_SECONDS: '10' }, 'DISPUTE_CLOCK_SECONDS'],
  [{ VERIFIER_ADDRESS: '0x1234' }, 'VERIFIER_ADDRESS'],
])('refuses %j naming %s', (env, field) => {
  let error: unknown;
  try {
    parseDeployEnv(env);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DeployEnvError);
  expect((error as DeployEnvError).issues.map((i) => i.path.join('.'))).toContain(field);
});
