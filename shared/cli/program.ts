/**
 * The `opml` command line: global options, the command groups, and one error path: every failure
 * becomes a message saying what to do next (or {"error": …} with --json) and a non-zero exit code.
 */
import { Command, CommanderError, Option } from 'commander';
import { creditCommands } from './commands/credit';
import { modelCommands } from './commands/model';
import { disputeCommands } from './commands/dispute';
import { providerCommands } from './commands/provider';
import { taskCommands } from './commands/task';
import { workerCommands } from './commands/worker';
import { DEFAULT_RPC } from './globals';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, errorReport, toJson, UsageError } from './output';

export function buildProgram(json: boolean): Command {
  const program = new Command('opml')
    .description('requester, provider and model-owner tools for the opML task market')
    .addOption(new Option('--api <url>', 'the market HTTP API').env('OPML_API_URL'))
    .addOption(new Option('--rpc <url>', 'a JSON-RPC endpoint of the chain').env('OPML_RPC_URL').default(DEFAULT_RPC))
    .addOption(new Option('--key <hex>', 'your 0x private key (prefer OPML_KEY: arguments are visible to other users); never printed').env('OPML_KEY'))
    .addOption(new Option('--market <address>', 'the TaskMarket address, when no --api names it').env('OPML_MARKET'))
    .option('--json', 'print one JSON object on stdout (errors too) for scripts', false)
    .exitOverride()
    .showHelpAfterError(json ? false : '(add --help for usage)')
    .configureOutput({
      // With --json, commander's own messages become the JSON error written by runCli.
      outputError: (text, write) => {
        if (!json) write(text);
      },
    });
  modelCommands(program);
  taskCommands(program);
  providerCommands(program);
  creditCommands(program);
  workerCommands(program);
  disputeCommands(program);
  return program;
}

/** Runs one command line; resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const program = buildProgram(json);
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT_OK; // --help, --version
      if (json) process.stdout.write(toJson({ error: { name: 'UsageError', code: e.code, message: e.message.replace(/^error: /, '') } }) + '\n');
      return EXIT_USAGE;
    }
    const report = errorReport(e);
    if (json) process.stdout.write(toJson({ error: report }) + '\n');
    else process.stderr.write(`error: ${report.message}\n`);
    return e instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
  }
}
