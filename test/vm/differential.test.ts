/**
 * TypeScript reference step against the Solidity verifier on a real local chain: DIFF_CASES
 * (default 20,000) random witnesses from DIFF_SEED (random if unset, always printed), every one
 * compared byte for byte (post-state fields, or error name and values). About a fifth of the witnesses
 * come from shared/vm/witness.ts over a shared/vm Memory, and for those the fast interpreter's
 * successor must match too. The same generator runs
 * a million cases with `npm run test:differential:long`.
 */
import { RiscvStep__factory } from '../../build/types';
import { Status } from '../../shared/vm/spec';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { CASE_KINDS, casesFromEnv, runRandomCases, seedFromEnv } from './differential-cases';

const CASES = casesFromEnv(20_000);
const SEED = seedFromEnv();

describe('RiscvStep.sol against shared/vm/step.ts (differential)', () => {
  let chain: LocalChain;
  let verifier: string;

  beforeAll(async () => {
    chain = await startLocalChain({ accounts: 1 });
    verifier = await (await new RiscvStep__factory(chain.signers[0]).deploy()).getAddress();
  });

  afterAll(async () => {
    await chain?.stop();
  });

  it(`gives identical outcomes on ${CASES} random cases`, async () => {
    console.log(`differential: ${CASES} cases, seed ${SEED} (rerun with DIFF_SEED=${SEED})`);
    const report = await runRandomCases({ provider: chain.provider, verifier, seed: SEED, cases: CASES });
    console.log(
      `differential: ${report.cases} cases in ${report.seconds.toFixed(1)} s, ${report.tampered} tampered, ` +
        `${report.fastInterpreter} also through witness.ts and the fast interpreter, ` +
        `${report.mismatchCount} mismatches; outcomes ${JSON.stringify(report.outcomes)}`,
    );
    const shown = report.mismatches.map(
      (m) => `#${m.index} ${m.kind}${m.tamper ? ` [${m.tamper}]` : ''}: ${m.message}\n  preState ${m.preState}\n  proofs ${m.proofs}`,
    );
    expect(shown).toEqual([]);
    expect(report.mismatchCount).toBe(0);

    // The run must have covered what it claims to: every instruction kind, every status as an
    // outcome, and every way of rejecting a witness. Small DIFF_CASES runs skip this.
    if (CASES >= 20_000) {
      expect([...CASE_KINDS, 'halted'].filter((k) => (report.kinds[k] ?? 0) < 100)).toEqual([]);
      expect(report.fastInterpreter).toBeGreaterThan(CASES / 10);
      const statuses = Object.values(Status).filter((s): s is string => typeof s === 'string');
      const errors = [
        'VMStateLengthInvalid',
        'VMStatusInvalid',
        'VMProofTooShort',
        'VMProofMaskInvalid',
        'VMProofZeroSiblingPresent',
        'VMFetchProofInvalid',
        'VMDataProofInvalid',
      ];
      expect([...statuses, ...errors].filter((o) => (report.outcomes[o] ?? 0) === 0)).toEqual([]);
    }
  }, 900_000);
});
