/**
 * The long differential run: DIFF_CASES (default 1,000,000) random witnesses through the
 * TypeScript reference step and the Solidity verifier on a fresh local chain, with progress.
 * Same generator as test/vm/differential.test.ts, so a failing seed reproduces in either.
 *
 *   npm run test:differential:long                      # 1,000,000 cases, random seed
 *   DIFF_SEED=1234 DIFF_CASES=50000 npm run test:differential:long
 *
 * Prints one JSON summary on its last line; exits 1 on any mismatch.
 */
import { RiscvStep__factory } from '../build/types';
import { startLocalChain } from '../test/helpers/chain';
import { runRandomCases, seedFromEnv, casesFromEnv } from '../test/vm/differential-cases';

async function main(): Promise<void> {
  const seed = seedFromEnv();
  const cases = casesFromEnv(1_000_000);
  console.log(`differential: ${cases} cases, seed ${seed} (DIFF_SEED=${seed} reproduces)`);
  const chain = await startLocalChain({ accounts: 1 });
  try {
    const verifier = await (await new RiscvStep__factory(chain.signers[0]).deploy()).getAddress();
    let lastPrint = 0;
    const report = await runRandomCases({
      provider: chain.provider,
      verifier,
      seed,
      cases,
      onProgress: (r) => {
        if (r.cases < cases && Date.now() - lastPrint < 5000) return;
        lastPrint = Date.now();
        const rate = Math.round(r.cases / r.seconds);
        const eta = Math.round((cases - r.cases) / rate);
        console.log(`  ${r.cases}/${cases} cases, ${rate}/s, ${r.mismatchCount} mismatches, eta ${eta} s`);
      },
    });
    for (const m of report.mismatches) console.error(`MISMATCH #${m.index} ${m.kind}${m.tamper ? ` [${m.tamper}]` : ''}: ${m.message}\n  preState ${m.preState}\n  proofs ${m.proofs}`);
    console.log(JSON.stringify({ ...report, mismatches: report.mismatches.length }));
    process.exitCode = report.mismatchCount === 0 ? 0 : 1;
  } finally {
    await chain.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
