/**
 * Reachability commands: `ping` (live matrix), `check` (expectations and prediction against the live lab, or
 * the prediction alone), `explain` (why A can or cannot reach B, from the file alone).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CheckReport } from '../lab/reach.js';
import type { ReachMatrix, Verdict } from '../reach/types.js';
import { api } from './api.js';
import { hostNetnsOption } from './core.js';
import { c, json, out, warn } from './ui.js';

/** Labs with more L3 nodes than this get a summary of their matrix unless `--full` asks for the table. */
const TABLE_NODES = 12;
/** Findings printed before `--full` is needed for the rest. */
const SHOWN_FINDINGS = 20;

function paint(verdict: Verdict, text: string): string {
  return verdict === 'reached' ? c.green(text) : verdict === 'lost' ? c.red(text) : c.yellow(text);
}

function familyOption(): Option {
  return new Option('--family <n>', 'only IPv4 (4) or IPv6 (6)').argParser((v) => {
    if (v !== '4' && v !== '6') throw new InvalidArgumentError('use 4 or 6.');
    return Number(v);
  });
}

/** The options `ping` and `check` share: --family, --addresses, --timeout, --full, --host-netns, --json. */
function reachOptions(cmd: Command): Command {
  return cmd
    .addOption(familyOption())
    .addOption(addressesOption())
    .addOption(timeoutOption())
    .option('--full', `print the whole matrix as a table even past ${TABLE_NODES} nodes, and every finding`)
    .addOption(hostNetnsOption())
    .option('--json', 'machine-readable output');
}

function addressesOption(): Option {
  return new Option(
    '--addresses <which>',
    'every address of each node, or only its first per family (one ping per node pair)',
  )
    .choices(['all', 'first'])
    .default('all');
}

function timeoutOption(): Option {
  return new Option('--timeout <ms>', 'how long to wait for answers, in milliseconds')
    .default(1000)
    .argParser((v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('give a number of milliseconds.');
      return n;
    });
}

/** `60s`, `500ms`, `2m`, or a bare number of seconds, in milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError('give a duration such as 60s, 500ms or 2m.');
  const unit = m[2] ?? 's';
  return Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000);
}

interface ReachOpts {
  family?: 4 | 6;
  addresses: 'all' | 'first';
  timeout: number;
  full?: boolean;
  hostNetns?: string;
  json?: boolean;
}

/** The matrix as a table for small labs (or with --full), else its summary with the first failures. */
/** The matrix formatter (cli-table3), loaded by the commands that print one. */
function matrixText() {
  return import('../render/matrix.js');
}

async function printMatrix(m: ReachMatrix, full?: boolean): Promise<void> {
  const { formatMatrix, formatMatrixSummary } = await matrixText();
  if (full || m.nodes.length <= TABLE_NODES) out(formatMatrix(m, { color: paint }));
  else {
    out(formatMatrixSummary(m, { color: paint }));
    out(c.dim(`(${m.nodes.length} nodes: --full prints the whole matrix as a table)`));
  }
}

function printFindings(report: CheckReport, full?: boolean): void {
  const { findings } = report;
  if (findings.length === 0) return;
  out(c.yellow(`\nfindings: the live lab differs from what the file predicts (${findings.length}):`));
  const shown = full ? findings : findings.slice(0, SHOWN_FINDINGS);
  for (const f of shown) out(`  - ${f.message}`);
  if (shown.length < findings.length)
    out(c.dim(`  ... and ${findings.length - shown.length} more (--full prints them all)`));
}

function attemptLine(r: CheckReport): string {
  const held = r.expectations.filter((e) => e.holds).length;
  const findings = r.predicted ? `, ${r.findings.length} finding(s)` : '';
  return `attempt ${r.attempts} after ${(r.elapsedMs / 1000).toFixed(1)} s: ${held} of ${r.expectations.length} expectation(s) hold${findings}`;
}

export function registerReach(program: Command): void {
  const ping = program
    .command('ping')
    .description("ping every node's addresses from every other node, all in parallel, and print the matrix")
    .argument('<lab>', 'topology file or lab name');
  reachOptions(ping)
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab ping seed\n  sudo nslab ping examples/dualstack.nslab.yml --family 6\n\n' +
        'Exit codes: 0 every ping is answered, 1 otherwise.',
    )
    .action(async (target: string, o: ReachOpts) => {
      const lab = await (await api()).open(target, { hostNetns: o.hostNetns });
      const m = await lab.ping({
        family: o.family,
        addresses: o.addresses,
        timeoutMs: o.timeout,
        expectTargets: false,
      });
      if (m.results.some((r) => r.verdict !== 'reached')) process.exitCode = 1;
      if (o.json) return json(m);
      await printMatrix(m, o.full);
      for (const w of m.warnings ?? []) warn(w);
    });

  const check = program
    .command('check')
    .description(
      "check a lab's `expect:` entries live, and compare every pair with the prediction from the file",
    )
    .argument('<lab>', 'topology file or lab name')
    .option(
      '--predict',
      'predict from the file alone (no root, nothing sent): the matrix and the expectations',
    )
    .option('--matrix', 'also print the live matrix')
    .option('--expect-only', 'judge only the `expect:` entries: no comparison with the prediction')
    .addOption(
      new Option(
        '--wait <duration>',
        'probe again until the check passes or this time is up (60s, 2m)',
      ).argParser(parseDuration),
    );
  reachOptions(check)
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab check examples/chain.nslab.yml\n  nslab check examples/chain.nslab.yml --predict\n' +
        '  sudo nslab check ospf.nslab.yml --wait 60s --expect-only\n\n' +
        'Exit codes: 0 every expectation holds (and nothing differs from the prediction), 1 otherwise.',
    )
    .action(
      async (
        target: string,
        o: ReachOpts & { predict?: boolean; matrix?: boolean; expectOnly?: boolean; wait?: number },
      ) => {
        const lab = await (await api()).open(target, { hostNetns: o.hostNetns });
        if (o.predict) {
          const p = lab.predict({ family: o.family, addresses: o.addresses });
          const results = lab.judge(p);
          if (results.some((r) => !r.holds)) process.exitCode = 1;
          if (o.json) return json({ lab: lab.name, predicted: p, expectations: results });
          if (!o.expectOnly) await printMatrix(p, o.full);
          if (results.length) {
            out('\nexpectations (predicted):');
            out((await matrixText()).formatExpectations(results, { color: paint }).replace(/^/gm, '  '));
          }
          return;
        }
        const report = await lab.check({
          family: o.family,
          addresses: o.addresses,
          timeoutMs: o.timeout,
          expectOnly: o.expectOnly,
          waitMs: o.wait,
          onAttempt:
            o.wait === undefined
              ? undefined
              : (r) => (o.json ? process.stderr.write(`${attemptLine(r)}\n`) : out(c.dim(attemptLine(r)))),
        });
        if (!report.ok) process.exitCode = 1;
        if (o.json) return json(report);
        if (o.matrix) await printMatrix(report.matrix, o.full);
        if (report.expectations.length)
          out((await matrixText()).formatExpectations(report.expectations, { color: paint }));
        else if (o.expectOnly) out(c.dim(`lab ${lab.name} has no expect: entries: nothing to judge`));
        else out(c.dim(`lab ${lab.name} has no expect: entries; comparing every pair with the prediction`));
        printFindings(report, o.full);
        for (const w of report.matrix.warnings ?? []) warn(w);
        const failed = report.expectations.filter((e) => !e.holds).length;
        const agree = report.predicted
          ? `; ${report.matrix.results.length} pings agree with the prediction`
          : '';
        out(
          report.ok
            ? `${c.green('✔')} ${report.expectations.length} expectation(s) hold${agree}`
            : `${c.red('✘')} ${failed} expectation(s) failed${report.predicted ? `, ${report.findings.length} finding(s)` : ''}`,
        );
      },
    );

  program
    .command('explain')
    .description('explain from the file alone why FROM can or cannot reach TO, hop by hop, with the fix')
    .argument('<file>', 'topology file')
    .argument('<from>', 'node the ping starts from')
    .argument('<to>', 'node (each of its addresses) or address')
    .addOption(familyOption())
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExample:\n  nslab explain examples/seed.nslab.yml ns0 ns1\n  nslab explain lab.nslab.yml h1 10.0.2.10\n\n' +
        'Exit codes: 0 every address of TO is reached, 1 when one is not, 2 bad input.',
    )
    .action(async (file: string, from: string, to: string, o: { family?: 4 | 6; json?: boolean }) => {
      const lab = await (await api()).load(file);
      const all = lab.explain(from, to, { family: o.family });
      if (all.some((e) => !e.ok)) process.exitCode = 1;
      if (o.json) return json(all);
      const { formatExplanation } = await import('../explain/format.js');
      out(all.map((e) => (e.ok ? c.green : c.yellow)(formatExplanation(e))).join('\n\n'));
    });
}
