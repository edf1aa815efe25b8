/**
 * `nslab graph`: the lab drawn as the tutorial's diagram is, from the file or from the live kernel.
 */
import { type Command, Option } from 'commander';
import { RENDER_FORMATS, type RenderFormat } from '../render/formats.js';
import { NslabError } from '../sys/errors.js';
import { api } from './api.js';
import { hostNetnsOption } from './core.js';
import { writeOutput } from './ui.js';

export function registerGraph(program: Command): void {
  program
    .command('graph')
    .description(
      'draw a lab: namespaces as boxes, interfaces as ports with their addresses, veth pairs as wires',
    )
    .argument('[lab]', 'topology file, or the name of a lab that is up (with --live)')
    .addOption(
      new Option('-f, --format <format>', 'output format').choices([...RENDER_FORMATS]).default('svg'),
    )
    .option('-o, --output <path>', 'write to a file instead of stdout')
    .option('--routes', "show each node's routes and forwarding state")
    .option(
      '--live [lab]',
      'read the deployed lab back from the kernel: down links and drift in another colour',
    )
    .addOption(hostNetnsOption())
    .addHelpText(
      'after',
      '\nExample:\n  nslab graph examples/seed.nslab.yml -o seed.svg\n  nslab graph examples/lan.nslab.yml --format mermaid\n  sudo nslab graph --live seed --format png -o seed.png',
    )
    .action(
      async (
        target: string | undefined,
        o: {
          format: RenderFormat;
          output?: string;
          routes?: boolean;
          live?: string | boolean;
          hostNetns?: string;
        },
      ) => {
        const which = target ?? (typeof o.live === 'string' ? o.live : undefined);
        if (!which)
          throw new NslabError('graph needs a topology file, or --live NAME for a lab that is up', 2);
        const lab = await (await api()).open(which, { hostNetns: o.hostNetns });
        if (o.format === 'png' && !o.output && process.stdout.isTTY) {
          throw new NslabError('PNG is binary: write it to a file with -o FILE', 2);
        }
        const picture = await lab.graph(o.format, { routes: o.routes, live: o.live !== undefined });
        if (o.output) writeOutput(o.output, picture);
        else process.stdout.write(picture);
      },
    );
}
