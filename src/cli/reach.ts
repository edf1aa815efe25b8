/**
 * Reachability commands: `ping` (live matrix), `check` (expectations and prediction against the live lab, or
 * the prediction alone), `explain` (why A can or cannot reach B, from the file alone).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatExplanation } from '../explain/format.js';
import type { PredictedMatrix, Verdict } from '../explain/types.js';
import { Lab } from '../lab/lab.js';
import { formatExpectations, formatMatrix } from '../probe/format.js';
import type { ProbeStatus } from '../probe/types.js';
import { hostNetnsOption } from './core.js';
import { c, json, out } from './ui.js';

function paint(status: ProbeStatus | Verdict, text: string): string {
  return status === 'reached' || status === 'reach'
    ? c.green(text)
    : status === 'lost'
      ? c.red(text)
      : c.yellow(text);
}

function familyOption(): Option {
  return new Option('--family <n>', 'only IPv4 (4) or IPv6 (6)').argParser((v) => {
    if (v !== '4' && v !== '6') throw new InvalidArgumentError('use 4 or 6.');
    return Number(v);
  });
}

/** The options `ping` and `check` share: --family, --addresses, --timeout, --host-netns, --json. */
function reachOptions(cmd: Command): Command {
  return cmd
    .addOption(familyOption())
    .addOption(addressesOption())
    .addOption(timeoutOption())
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

/** The predicted matrix in the shape the live one is printed in. */
function predictedAsMatrix(p: PredictedMatrix) {
  const status = (v: Verdict): ProbeStatus => (v === 'reach' ? 'reached' : v);
  return {
    nodes: p.nodes,
    results: p.pairs.map((x) => ({
      from: x.from,
      to: x.address,
      toNode: x.to,
      family: x.family,
      status: status(x.verdict),
      reason: x.failure?.reason,
      hops: x.verdict === 'reach' ? x.hops : undefined,
      replyTtl: x.replyTtl,
    })),
  };
}

interface ReachOpts {
  family?: 4 | 6;
  addresses: 'all' | 'first';
  timeout: number;
  hostNetns?: string;
  json?: boolean;
}

export function registerReach(program: Command): void {
  const ping = program
    .command('ping')
    .description("ping every node's addresses from every other node, all in parallel, and print the matrix")
    .argument('<lab>', 'topology file or lab name');
  reachOptions(ping)
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab ping seed\n  sudo nslab ping examples/dualstack.nslab.yml --family 6',
    )
    .action(async (target: string, o: ReachOpts) => {
      const lab = await Lab.open(target, { hostNetns: o.hostNetns });
      const m = await lab.ping({
        family: o.family,
        addresses: o.addresses,
        timeoutMs: o.timeout,
        expectTargets: false,
      });
      if (o.json) return json(m);
      out(formatMatrix(m, { color: paint }));
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
    .option('--matrix', 'also print the live matrix');
  reachOptions(check)
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab check examples/chain.nslab.yml\n  nslab check examples/chain.nslab.yml --predict\n\nExit codes: 0 every expectation holds (and nothing differs from the prediction), 1 otherwise.',
    )
    .action(async (target: string, o: ReachOpts & { predict?: boolean; matrix?: boolean }) => {
      const lab = await Lab.open(target, { hostNetns: o.hostNetns });
      if (o.predict) {
        const p = lab.predict({ family: o.family, addresses: o.addresses });
        const results = lab.predictExpectations(p);
        if (o.json) return json({ lab: lab.name, predicted: p, expectations: results });
        out(formatMatrix(predictedAsMatrix(p), { color: paint }));
        if (results.length) {
          out('\nexpectations (predicted):');
          for (const r of results) out(`  ${r.holds ? c.green('✔') : c.red('✘')} ${r.reason}`);
        }
        if (results.some((r) => !r.holds)) process.exitCode = 1;
        return;
      }
      const report = await lab.check({ family: o.family, addresses: o.addresses, timeoutMs: o.timeout });
      if (o.json) return json(report);
      if (o.matrix) out(formatMatrix(report.matrix, { color: paint }));
      if (report.expectations.length) out(formatExpectations(report.expectations, { color: paint }));
      else out(c.dim(`lab ${lab.name} has no expect: entries; comparing every pair with the prediction`));
      if (report.findings.length) {
        out(
          c.yellow(
            `\nfindings: the live lab differs from what the file predicts (${report.findings.length}):`,
          ),
        );
        for (const f of report.findings) out(`  - ${f.message}`);
      }
      const failed = report.expectations.filter((e) => !e.holds).length;
      out(
        report.ok
          ? `${c.green('✔')} ${report.expectations.length} expectation(s) hold; ${report.matrix.results.length} pings agree with the prediction`
          : `${c.red('✘')} ${failed} expectation(s) failed, ${report.findings.length} finding(s)`,
      );
      if (!report.ok) process.exitCode = 1;
    });

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
      '\nExample:\n  nslab explain examples/seed.nslab.yml ns0 ns1\n  nslab explain lab.nslab.yml h1 10.0.2.10',
    )
    .action(async (file: string, from: string, to: string, o: { family?: 4 | 6; json?: boolean }) => {
      const lab = await Lab.load(file);
      const all = lab.explain(from, to, { family: o.family });
      if (o.json) return json(all);
      out(all.map((e) => (e.ok ? c.green : c.yellow)(formatExplanation(e))).join('\n\n'));
    });
}
