/** Entry point of `opml` (bin/opml runs this through tsx). */
import { runCli } from './program';

runCli(process.argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`opml: unexpected failure: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
